#pragma once
/// Idempotent retries (SPEC §4.4): a POST or DELETE with `Idempotency-Key: K` is answered once;
/// a repeat with the same key and the same request (same tenant, within 24 h) gets the first
/// answer again without acting; the same key with another request is 422; a repeat while the
/// first is still being answered is 409. Answers that changed nothing and invite a retry (429,
/// 503, 504) are not kept: the retry acts.
///
/// In Redis, one string per (tenant, key): `<prefix>idem:<tenant>:<sha256(key)>` holding a small
/// JSON record, first as "pending" (with a short expiry, so a shim that died mid-request does not
/// block the key for a day), then as "done" with the answer for the 24 h.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "lambda/http/message.h"
#include "lambda/redis/async_client.h"
#include "lambda/result.h"

namespace lambda::idempotency {

inline constexpr uint64_t kKeepMs = uint64_t{24} * 3600 * 1000;
/// Longer than any request may take (request timeout + settle budget).
inline constexpr uint64_t kPendingMs = uint64_t{120} * 1000;

/// Whether `method` takes the header (POST, DELETE).
bool Applies(std::string_view method);
/// 1..64 visible ASCII characters; the error names the problem.
Status ValidateKey(std::string_view key);
/// What makes two requests "the same": method, path, the Zenlayer action header and the body.
std::string Fingerprint(const http::Request& req);

/// A kept record.
struct Record {
  bool done = false;
  std::string fingerprint;
  int status = 0;
  std::string content_type;
  std::string body;
};
std::string Encode(const Record& r);
std::optional<Record> Decode(std::string_view text);
/// Whether an answer is kept for repeats (not 429/5xx, which changed nothing or are unknown).
bool Keeps(int status);

/// What a request with a key meets.
struct Begin {
  enum class Kind { kNew, kReplay, kInProgress, kMismatch };
  Kind kind = Kind::kNew;
  Record previous;  ///< kReplay: the first answer
};
/// Pure: the decision given what Redis holds for the key (nullopt: nothing, claimed now).
Begin Decide(const std::optional<Record>& held, std::string_view fingerprint);

/// The records in Redis. Thread: loop only.
class Store {
 public:
  Store(redis::Client* redis, std::string prefix) : redis_(redis), prefix_(std::move(prefix)) {}
  /// Claims the key as pending (SET NX) or reads what it holds.
  void Start(const std::string& tenant, std::string_view key, const std::string& fingerprint,
             std::function<void(Result<Begin>)> done);
  /// Keeps the answer for 24 h, or, for an answer not kept, frees the key for a retry.
  void Finish(const std::string& tenant, std::string_view key, const std::string& fingerprint,
              const http::Response& answer);

 private:
  std::string KeyOf(const std::string& tenant, std::string_view key) const;
  redis::Client* redis_;
  std::string prefix_;
};

}  // namespace lambda::idempotency

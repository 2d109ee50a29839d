#pragma once
/// Idempotent retries (SPEC §4.4): a POST or DELETE with `Idempotency-Key: K` is answered once;
/// a repeat with the same key and the same request (same tenant, within 24 h) gets the first
/// answer again without acting; the same key with another request is 422; a repeat while the
/// first is still being answered is 409. Answers that changed nothing and invite a retry (429,
/// 503, 504) are not kept: the retry acts.
///
/// In Redis, one string per (tenant, key) (keys.h `IdempotencyRecord`) holding a small JSON
/// record, first as "pending" (with a short expiry, so a shim that died mid-request does not
/// block the key for a day), then as "done" with the answer for the 24 h.
///
/// Bounded (SPEC §8). A kept answer larger than kCompactFrom is kept compacted against its
/// request (compact.h: a batch's echoed ids are not stored twice), a record still larger than
/// kMaxRecordBytes keeps only the answer's status and digest (a repeat is then 409
/// IDEMPOTENCY_ANSWER_NOT_KEPT: done once, not acted on again, the answer not shown), and a
/// tenant keeps at most Limits::max_records records and Limits::max_bytes bytes: beyond either,
/// its oldest records are dropped first (a repeat of a dropped key acts again, as after 24 h).
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

/// Answers longer than this are kept compacted against their request, when that is shorter.
inline constexpr size_t kCompactFrom = 1024;
/// The largest record kept with its answer; past it only the answer's digest is kept.
inline constexpr size_t kMaxRecordBytes = size_t{32} * 1024;

/// What one tenant's kept records may take (the keep script drops the oldest past either).
struct Limits {
  int64_t max_records = 10000;
  int64_t max_bytes = int64_t{4} * 1024 * 1024;  ///< each record's length plus overhead_bytes
  /// Charged per record beyond its length: what Redis spends on the key, its TTL and the index
  /// entries (measured ~550 bytes on Redis 7.0 with jemalloc: 6,000 records of 374 bytes took
  /// 5.5 MB of used_memory).
  int64_t overhead_bytes = 600;
};

/// A kept record.
struct Record {
  /// How the answer's body is kept: as is, compacted against the request, or as a digest only.
  enum class Form { kBody, kCompact, kDigest };
  bool done = false;
  std::string fingerprint;
  int status = 0;
  std::string content_type;
  std::string body;  ///< by `form`: the body, its compact form, or its SHA-256 (hex)
  Form form = Form::kBody;
};
std::string Encode(const Record& r);
std::optional<Record> Decode(std::string_view text);
/// Whether an answer is kept for repeats (not 429/5xx, which changed nothing or are unknown).
bool Keeps(int status);
/// The done record for an answer, within kMaxRecordBytes once encoded.
Record Kept(const std::string& fingerprint, std::string_view request_body,
            const http::Response& answer);
/// The first answer's body from a kept record and the repeated request's body; nullopt for a
/// digest-only record or a compact form that does not fit the body.
std::optional<std::string> AnswerBody(const Record& r, std::string_view request_body);

/// What a request with a key meets.
struct Begin {
  /// kNotKept: done once, but its answer was too large to keep (only its status is known).
  enum class Kind { kNew, kReplay, kInProgress, kMismatch, kNotKept };
  Kind kind = Kind::kNew;
  Record previous;  ///< kReplay, kNotKept: the first answer
};
/// Pure: the decision given what Redis holds for the key (nullopt: nothing, claimed now).
Begin Decide(const std::optional<Record>& held, std::string_view fingerprint);

/// The records in Redis. Thread: loop only.
class Store {
 public:
  Store(redis::Client* redis, std::string prefix, Limits limits = {})
      : redis_(redis), prefix_(std::move(prefix)), limits_(limits) {}
  /// Claims the key as pending (SET NX) or reads what it holds.
  void Start(const std::string& tenant, std::string_view key, const std::string& fingerprint,
             std::function<void(Result<Begin>)> done);
  /// Keeps the answer for 24 h within the tenant's limits, or, for an answer not kept, frees the
  /// key for a retry. `request_body`: what the answer is compacted against.
  void Finish(const std::string& tenant, std::string_view key, const std::string& fingerprint,
              std::string_view request_body, const http::Response& answer);

 private:
  std::string KeyOf(const std::string& tenant, std::string_view key) const;
  redis::Client* redis_;
  std::string prefix_;
  Limits limits_;
};

}  // namespace lambda::idempotency

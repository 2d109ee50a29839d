#pragma once
/// Access key pairs (SPEC §3, §4.3): a request signed with ZC2-HMAC-SHA256 (auth/zc2.h) is
/// checked against the access key's secret, which Redis holds only sealed under the server key
/// (crypto/sealed.h) and which is opened here. An opened secret is cached by access key id for
/// `cache_ttl_ms` (the revocation delay, as for API keys). Each accepted signature is recorded in
/// Redis, with a digest of what it does not sign, for as long as its timestamp is in the window:
/// the same signature on any other request is refused.
/// Thread: loop only.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "auth/authenticator.h"
#include "lambda/crypto/sealed.h"
#include "lambda/http/message.h"
#include "lambda/redis/async_client.h"
#include "lambda/result.h"

namespace lambda::shim {

class AccessKeyAuthenticator {
 public:
  /// `redis` outlives this object. Without a server key every signed request is refused.
  AccessKeyAuthenticator(redis::Client* redis, std::string prefix, uint64_t cache_ttl_ms,
                         std::optional<crypto::ServerKey> server_key)
      : redis_(redis),
        prefix_(std::move(prefix)),
        ttl_ms_(cache_ttl_ms),
        server_key_(std::move(server_key)) {}

  /// The tenant of a signed request that verifies, is fresh, and whose signature was not seen on
  /// another request; nullopt for anything else (401, nothing changed); an error when Redis could
  /// not be asked (503). Reads what it needs from `req` before returning. May answer inside the
  /// call.
  void Check(const http::Request& req,
             const std::function<void(Result<std::optional<std::string>>)>& done);
  /// Check's answer as an identity: the tenant, the access key's id (no name: the audit names an
  /// access key by its id), full scope (an access key pair may do whatever its tenant may;
  /// scopes are for API keys), no expiry.
  void Identify(const http::Request& req, const Authenticator::IdentityDone& done);

  /// The rate limiter's bucket for a signed request: its access key id, marked; "" when the
  /// request is not signed (or its Authorization header is malformed).
  static std::string BucketOf(const http::Request& req);

 private:
  struct Pending {
    std::string access_key_id;
    std::string signature;
    std::string string_to_sign;
    std::string digest;  ///< zc2::RequestDigest
    int64_t timestamp = 0;
  };
  struct Entry {
    std::string tenant;
    std::string secret;
    uint64_t expires_ms;
  };
  using Done = Authenticator::IdentityDone;
  /// The secret is known: verify, then record the signature.
  void Verify(const Pending& p, const Entry& key, const Done& done);

  redis::Client* redis_;
  std::string prefix_;
  uint64_t ttl_ms_;
  std::optional<crypto::ServerKey> server_key_;
  std::unordered_map<std::string, Entry> cache_;  ///< access key id → opened secret
  static constexpr size_t kMaxCached = 10000;
};

}  // namespace lambda::shim

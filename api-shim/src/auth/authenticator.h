#pragma once
/// API keys (SPEC §3): a presented key is looked up by its SHA-256 in Redis (the stored hash is
/// still compared in constant time) and the answer cached by the presented key for a short
/// while, so the hash runs only on a miss. Revocation takes effect within the cache's TTL; an
/// expired key is refused from its expiry on (cached or not), so its watches end in the same
/// sweep as a revoked key's. While Redis cannot answer for a key (its node is failing over, say),
/// a key it vouched for less than `stale_ms` ago is still trusted: tenants whose keys live on a
/// dead node keep working on the rest of the store instead of all getting 503s.
/// Thread: loop only.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "lambda/domain/api_keys.h"
#include "lambda/redis/async_client.h"
#include "lambda/result.h"

namespace lambda::shim {

/// Who a request's key is: its tenant, the key's public id and name, its scope and expiry.
struct KeyIdentity {
  std::string tenant;
  std::string
      key_id;  ///< an API key: the first 16 hex digits of its SHA-256; an access key: its id
  std::string name;
  domain::KeyScope scope = domain::KeyScope::kAdmin;
  int64_t expires_ms = 0;  ///< 0: never
  std::string hash;        ///< an API key's full SHA-256 (its Redis key); empty for access keys
  bool ExpiredAt(int64_t now_ms) const { return expires_ms != 0 && now_ms >= expires_ms; }
};

/// Presented key → identity, each entry trusted for `ttl_ms` (0: no caching), and kept `stale_ms`
/// longer for when Redis cannot be asked. Bounded: past `max_entries` it starts again empty.
/// Pure: the caller passes the time.
class KeyCache {
 public:
  KeyCache(uint64_t ttl_ms, size_t max_entries, uint64_t stale_ms = 0)
      : ttl_ms_(ttl_ms), stale_ms_(stale_ms), max_entries_(max_entries) {}
  std::optional<KeyIdentity> Lookup(const std::string& key, uint64_t now_ms);
  /// An entry past its TTL but within the stale window (Redis did not answer for it).
  std::optional<KeyIdentity> LookupStale(const std::string& key, uint64_t now_ms);
  void Put(const std::string& key, KeyIdentity identity, uint64_t now_ms);
  /// The tenant only (what Lookup finds).
  std::optional<std::string> Find(const std::string& key, uint64_t now_ms);
  std::optional<std::string> FindStale(const std::string& key, uint64_t now_ms);
  void Put(const std::string& key, const std::string& tenant, uint64_t now_ms) {
    Put(key, KeyIdentity{tenant, {}, {}, domain::KeyScope::kAdmin, 0, {}}, now_ms);
  }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    KeyIdentity identity;
    uint64_t expires_ms;
  };
  uint64_t ttl_ms_;
  uint64_t stale_ms_;
  size_t max_entries_;
  std::unordered_map<std::string, Entry> entries_;
};

/// When an API key was last used goes to Redis at most once per `period_ms` per key (the shim's
/// memory decides, bounded): `Due` says whether this use is the one to write. Pure.
class TouchThrottle {
 public:
  explicit TouchThrottle(uint64_t period_ms, size_t max_entries = 10000)
      : period_ms_(period_ms), max_entries_(max_entries) {}
  bool Due(const std::string& hash, uint64_t now_ms);

 private:
  uint64_t period_ms_;
  size_t max_entries_;
  std::unordered_map<std::string, uint64_t> last_;
};

class Authenticator {
 public:
  /// `redis` outlives this object.
  Authenticator(redis::Client* redis, std::string prefix, uint64_t cache_ttl_ms,
                uint64_t stale_ms = 0)
      : redis_(redis), prefix_(std::move(prefix)), cache_(cache_ttl_ms, 10000, stale_ms) {}

  using IdentityDone = std::function<void(Result<std::optional<KeyIdentity>>)>;
  /// The key's identity; nullopt for an unknown, revoked, expired or malformed key; an error
  /// when Redis could not be asked (503) and did not vouch for it within the stale window. May
  /// answer inside the call (a cached or malformed key). A key that checks has its last_used
  /// written (at most once a minute, not awaited).
  void Identify(const std::string& key, const IdentityDone& done);
  /// Identify's tenant only.
  void Check(const std::string& key,
             const std::function<void(Result<std::optional<std::string>>)>& done);

 private:
  /// The identity as it stands at `now_ms`: nullopt once expired; touches last_used when due.
  std::optional<KeyIdentity> Admit(std::optional<KeyIdentity> id, int64_t now_ms);

  redis::Client* redis_;
  std::string prefix_;
  KeyCache cache_;
  TouchThrottle touched_{60000};
};

}  // namespace lambda::shim

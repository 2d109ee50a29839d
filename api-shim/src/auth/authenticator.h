#pragma once
/// API keys (SPEC §4): a presented key is looked up by its SHA-256 in Redis (the stored hash is
/// still compared in constant time) and the answer cached by the presented key for a short
/// while, so the hash runs only on a miss. Revocation takes effect within the cache's TTL.
/// While Redis cannot answer for a key (its node is failing over, say), a key it vouched for
/// less than `stale_ms` ago is still trusted: tenants whose keys live on a dead node keep
/// working on the rest of the store instead of all getting 503s.
/// Thread: loop only.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "lambda/redis/async_client.h"
#include "lambda/result.h"

namespace lambda::shim {

/// Presented key → tenant, each entry trusted for `ttl_ms` (0: no caching), and kept `stale_ms`
/// longer for when Redis cannot be asked. Bounded: past `max_entries` it starts again empty.
/// Pure: the caller passes the time.
class KeyCache {
 public:
  KeyCache(uint64_t ttl_ms, size_t max_entries, uint64_t stale_ms = 0)
      : ttl_ms_(ttl_ms), stale_ms_(stale_ms), max_entries_(max_entries) {}
  std::optional<std::string> Find(const std::string& key, uint64_t now_ms);
  /// An entry past its TTL but within the stale window (Redis did not answer for it).
  std::optional<std::string> FindStale(const std::string& key, uint64_t now_ms);
  void Put(const std::string& key, const std::string& tenant, uint64_t now_ms);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string tenant;
    uint64_t expires_ms;
  };
  uint64_t ttl_ms_;
  uint64_t stale_ms_;
  size_t max_entries_;
  std::unordered_map<std::string, Entry> entries_;
};

class Authenticator {
 public:
  /// `redis` outlives this object.
  Authenticator(redis::Client* redis, std::string prefix, uint64_t cache_ttl_ms,
                uint64_t stale_ms = 0)
      : redis_(redis), prefix_(std::move(prefix)), cache_(cache_ttl_ms, 10000, stale_ms) {}

  /// The key's tenant; nullopt for an unknown, revoked or malformed key; an error when Redis
  /// could not be asked (503) and did not vouch for it within the stale window. May answer
  /// inside the call (a cached or malformed key).
  void Check(const std::string& key,
             const std::function<void(Result<std::optional<std::string>>)>& done);

 private:
  redis::Client* redis_;
  std::string prefix_;
  KeyCache cache_;
};

}  // namespace lambda::shim

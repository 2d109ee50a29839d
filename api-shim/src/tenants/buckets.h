#pragma once
/// Token buckets by key (SPEC §3: a tenant's request rate, or a client address's on the routes
/// without a key). Each key's rate and burst come with each take, so a tenant's new limits apply
/// at its next request. Pure: the caller passes the clock. Each shim process keeps its own
/// buckets, so N shims behind a balancer admit up to N times a tenant's rate (docs/limits.md).
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace lambda::shim {

/// One take's outcome.
struct Taken {
  bool granted = true;
  uint64_t wait_ms = 0;  ///< refused: when the bucket will hold enough again
  double remaining = 0;  ///< tokens left after the take (or now, when refused); may be < 0
  uint64_t full_ms = 0;  ///< when the bucket will be full again (the RateLimit `t`)
};

class TokenBuckets {
 public:
  explicit TokenBuckets(size_t max_keys = 100000) : max_keys_(max_keys) {}

  /// Takes `cost` tokens from `key`'s bucket, which refills `rate` a second up to `burst` (a
  /// burst below 1 counts as 1). A cost above the burst is taken from a full bucket, leaving
  /// it in debt (a batch of 1,000 on a burst of 100 waits out 900 tokens after it), so every
  /// item is paid for. Refused: nothing is taken.
  Taken Take(std::string_view key, uint64_t now_ms, double cost, double rate, double burst);
  size_t keys() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    uint64_t at_ms;
    uint64_t full_at_ms;  ///< when it is full again: after that it behaves as a new one
  };
  /// Drops the buckets that have refilled completely (they behave as new ones).
  void DropFull(uint64_t now_ms);

  size_t max_keys_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace lambda::shim

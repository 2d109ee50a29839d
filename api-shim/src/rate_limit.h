#pragma once
/// Per-API-key token buckets (SPEC §5: per-tenant rate limits). Pure: the caller passes the
/// clock. Each shim process keeps its own buckets, so N shims admit up to N times the rate.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace lambda::shim {

class RateLimiter {
 public:
  /// `rate_per_s` tokens a second up to `burst` (a burst below 1 counts as 1); rate 0 = off.
  RateLimiter(double rate_per_s, double burst, size_t max_keys = 100000);

  bool enabled() const { return rate_ > 0; }
  /// Takes one token from `key`'s bucket: 0 when there was one, else the milliseconds until
  /// there will be (the request is refused and nothing is taken).
  uint64_t Take(std::string_view key, uint64_t now_ms);
  size_t keys() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    uint64_t at_ms;
  };
  /// Drops the buckets that have refilled completely (they behave as new ones).
  void DropFull(uint64_t now_ms);

  double rate_;
  double burst_;
  size_t max_keys_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace lambda::shim

#include "rate_limit.h"

#include <algorithm>
#include <cmath>

namespace lambda::shim {

RateLimiter::RateLimiter(double rate_per_s, double burst, size_t max_keys)
    : rate_(std::max(rate_per_s, 0.0)), burst_(std::max(burst, 1.0)), max_keys_(max_keys) {}

uint64_t RateLimiter::Take(std::string_view key, uint64_t now_ms) {
  if (!enabled()) return 0;
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) DropFull(now_ms);
    it = buckets_.emplace(std::string(key), Bucket{burst_, now_ms}).first;
  }
  Bucket& b = it->second;
  if (now_ms > b.at_ms) {
    b.tokens = std::min(burst_, b.tokens + static_cast<double>(now_ms - b.at_ms) * rate_ / 1000.0);
    b.at_ms = now_ms;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return static_cast<uint64_t>(std::ceil((1.0 - b.tokens) * 1000.0 / rate_));
}

void RateLimiter::DropFull(uint64_t now_ms) {
  const double full_after_ms = burst_ * 1000.0 / rate_;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (static_cast<double>(now_ms - std::min(now_ms, it->second.at_ms)) >= full_after_ms) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  // Still full of busy keys: forget them all rather than grow without bound (they restart full).
  if (buckets_.size() >= max_keys_) buckets_.clear();
}

}  // namespace lambda::shim

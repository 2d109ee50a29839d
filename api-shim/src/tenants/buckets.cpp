#include "tenants/buckets.h"

#include <algorithm>
#include <cmath>

namespace lambda::shim {
namespace {

uint64_t MsFor(double tokens, double rate) {
  return tokens <= 0 ? 0 : static_cast<uint64_t>(std::ceil(tokens * 1000.0 / rate));
}

}  // namespace

Taken TokenBuckets::Take(std::string_view key, uint64_t now_ms, double cost, double rate,
                         double burst) {
  burst = std::max(burst, 1.0);
  if (rate <= 0) return Taken{true, 0, burst, now_ms};
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) DropFull(now_ms);
    it = buckets_.emplace(std::string(key), Bucket{burst, now_ms, now_ms}).first;
  }
  Bucket& b = it->second;
  if (now_ms > b.at_ms) {
    b.tokens = std::min(burst, b.tokens + static_cast<double>(now_ms - b.at_ms) * rate / 1000.0);
    b.at_ms = now_ms;
  }
  b.tokens = std::min(b.tokens, burst);  // a lowered burst applies at once
  const double needed = std::min(cost, burst);
  if (b.tokens + 1e-9 < needed) {
    return Taken{false, std::max<uint64_t>(1, MsFor(needed - b.tokens, rate)), b.tokens,
                 MsFor(burst - b.tokens, rate)};
  }
  b.tokens -= cost;
  const uint64_t full_in = MsFor(burst - b.tokens, rate);
  b.full_at_ms = now_ms + full_in;
  return Taken{true, 0, b.tokens, full_in};
}

void TokenBuckets::DropFull(uint64_t now_ms) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (it->second.full_at_ms <= now_ms) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  // Still full of busy keys: forget them all rather than grow without bound (they restart full).
  if (buckets_.size() >= max_keys_) buckets_.clear();
}

}  // namespace lambda::shim

#pragma once
/// A 429 of the tenant limits (SPEC §3): why, the text, and the headers it carries (Retry-After
/// and the IETF httpapi ratelimit-headers draft's RateLimit-Policy / RateLimit, e.g.
/// `RateLimit-Policy: "tenant";q=1000;w=5` and `RateLimit: "tenant";r=0;t=1`). Pure.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tenants/buckets.h"

namespace lambda::shim {

struct LimitRefusal {
  enum class Kind { kRate, kAddress, kInstances, kWatchers, kInflight };
  Kind kind = Kind::kRate;
  int64_t quota = 0;           ///< q: the burst, the max instances or the max watchers
  uint64_t window_s = 0;       ///< w: seconds a full bucket takes to refill (rate kinds; 0: none)
  int64_t remaining = 0;       ///< r: what is left now (never below 0)
  uint64_t retry_after_s = 1;  ///< Retry-After and the RateLimit `t`
};

inline constexpr int kLimitRefusalKinds = 5;
/// "rate", "address", "instances", "watchers", "inflight": the policy name and the metrics label.
std::string_view KindName(LimitRefusal::Kind kind);

/// A refused take of a rate bucket (`rate` a second, `burst`).
LimitRefusal RateRefusal(LimitRefusal::Kind kind, const Taken& taken, double rate, double burst);
/// A quota met: `limit` instances or watchers.
LimitRefusal QuotaRefusal(LimitRefusal::Kind kind, int64_t limit);

/// Retry-After, RateLimit-Policy and RateLimit.
std::vector<std::pair<std::string, std::string>> LimitHeaders(const LimitRefusal& r);
/// What the client is told (in its dialect's error shape).
std::string LimitText(const LimitRefusal& r);

}  // namespace lambda::shim

#include "tenants/refusal.h"

#include <algorithm>
#include <cmath>

namespace lambda::shim {
namespace {

uint64_t Seconds(uint64_t ms) { return std::max<uint64_t>(1, (ms + 999) / 1000); }

/// What a quota refusal asks the client to wait before it looks again: a watcher or an instance
/// is given back by the tenant itself, whenever it does.
constexpr uint64_t kWatchersRetryS = 1;
constexpr uint64_t kInstancesRetryS = 60;

}  // namespace

std::string_view KindName(LimitRefusal::Kind kind) {
  switch (kind) {
    case LimitRefusal::Kind::kRate:
      return "rate";
    case LimitRefusal::Kind::kAddress:
      return "address";
    case LimitRefusal::Kind::kInstances:
      return "instances";
    case LimitRefusal::Kind::kWatchers:
      return "watchers";
    case LimitRefusal::Kind::kInflight:
      return "inflight";
  }
  return "rate";
}

LimitRefusal RateRefusal(LimitRefusal::Kind kind, const Taken& taken, double rate, double burst) {
  LimitRefusal r;
  r.kind = kind;
  r.quota = static_cast<int64_t>(std::max(burst, 1.0));
  r.window_s = rate > 0 ? Seconds(static_cast<uint64_t>(std::ceil(burst * 1000.0 / rate))) : 0;
  r.remaining = std::max<int64_t>(0, static_cast<int64_t>(std::floor(taken.remaining)));
  r.retry_after_s = Seconds(taken.wait_ms);
  return r;
}

LimitRefusal QuotaRefusal(LimitRefusal::Kind kind, int64_t limit) {
  LimitRefusal r;
  r.kind = kind;
  r.quota = std::max<int64_t>(0, limit);
  r.remaining = 0;
  r.retry_after_s = kind == LimitRefusal::Kind::kInstances ? kInstancesRetryS : kWatchersRetryS;
  return r;
}

std::vector<std::pair<std::string, std::string>> LimitHeaders(const LimitRefusal& r) {
  const std::string name = "\"" + std::string(KindName(r.kind)) + "\"";
  std::string policy = name + ";q=" + std::to_string(r.quota);
  if (r.window_s > 0) policy += ";w=" + std::to_string(r.window_s);
  const std::string retry = std::to_string(r.retry_after_s);
  return {{"Retry-After", retry},
          {"RateLimit-Policy", policy},
          {"RateLimit", name + ";r=" + std::to_string(r.remaining) + ";t=" + retry}};
}

std::string LimitText(const LimitRefusal& r) {
  const std::string q = std::to_string(r.quota);
  const std::string retry = std::to_string(r.retry_after_s);
  switch (r.kind) {
    case LimitRefusal::Kind::kRate:
      return "Too many requests for this tenant (a burst of " + q + "); retry after " + retry +
             " s.";
    case LimitRefusal::Kind::kAddress:
      return "Too many requests from this address (a burst of " + q + "); retry after " + retry +
             " s.";
    case LimitRefusal::Kind::kInstances:
      return "This tenant has its quota of " + q +
             " live instances; destroy one, or ask an operator to raise the quota.";
    case LimitRefusal::Kind::kWatchers:
      return "This tenant holds its limit of " + q +
             " waits and event streams on this server; close one, or retry later.";
    case LimitRefusal::Kind::kInflight:
      return "This tenant has its limit of " + q +
             " actions in flight (instances in a transitional status); retry when one settles.";
  }
  return {};
}

}  // namespace lambda::shim

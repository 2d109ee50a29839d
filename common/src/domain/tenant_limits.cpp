#include "lambda/domain/tenant_limits.h"

#include <charconv>

namespace lambda::domain {
namespace {

constexpr int64_t kMaxLimit = 1000000000;

std::optional<int64_t> ParseCount(std::string_view v) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || v.empty()) return std::nullopt;
  if (n < 0 || n > kMaxLimit) return std::nullopt;
  return n;
}

}  // namespace

std::optional<std::string> CheckLimit(std::string_view field, std::string_view value) {
  const bool known = field == kLimitMaxInstances || field == kLimitMaxInflight ||
                     field == kLimitRate || field == kLimitBurst || field == kLimitMaxWatchers;
  if (!known) return "unknown limit " + std::string(field);
  auto n = ParseCount(value);
  if (!n) return std::string(field) + " must be an integer from 0 to 1000000000";
  if ((field == kLimitRate || field == kLimitBurst) && *n == 0) {
    return std::string(field) + " must be at least 1";
  }
  return std::nullopt;
}

TenantLimits LimitsFromFields(const std::vector<std::pair<std::string, std::string>>& fields,
                              const TenantLimits& defaults) {
  TenantLimits out = defaults;
  for (const auto& [field, value] : fields) {
    if (CheckLimit(field, value)) continue;
    const auto n = *ParseCount(value);
    if (field == kLimitMaxInstances) out.max_instances = n;
    if (field == kLimitMaxInflight) out.max_inflight = n;
    if (field == kLimitRate) out.rate = static_cast<double>(n);
    if (field == kLimitBurst) out.burst = static_cast<double>(n);
    if (field == kLimitMaxWatchers) out.max_watchers = n;
  }
  return out;
}

}  // namespace lambda::domain

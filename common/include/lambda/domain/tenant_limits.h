#pragma once
/// A tenant's quotas and limits (SPEC §3): what `lambdactl tenant set` stores in the tenant's
/// limits hash (keys::TenantLimits) and what the api-shim enforces. A field that is not stored
/// takes the shim's default (its flags; the built-in ones below otherwise). Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lambda::domain {

struct TenantLimits {
  int64_t max_instances = 1000;  ///< live (not DESTROYED) instances; a create past it → 429
  int64_t max_inflight = 200;    ///< instances in a transitional status (actions in flight)
  double rate = 200;             ///< requests a second (token bucket refill), per tenant
  double burst = 1000;           ///< bucket size; a batch of N costs N
  int64_t max_watchers = 1000;   ///< held waits and event streams open at once, per shim

  bool operator==(const TenantLimits&) const = default;
};

/// The hash fields, in the order `tenant show` prints them.
inline constexpr std::string_view kLimitMaxInstances = "max_instances";
inline constexpr std::string_view kLimitMaxInflight = "max_inflight";
inline constexpr std::string_view kLimitRate = "rate";
inline constexpr std::string_view kLimitBurst = "burst";
inline constexpr std::string_view kLimitMaxWatchers = "max_watchers";

/// The value of one limit field, or an error text: integers 0..10^9 (rate and burst 1..10^9).
std::optional<std::string> CheckLimit(std::string_view field, std::string_view value);

/// The limits stored for a tenant (HGETALL pairs) over `defaults`: a field that is missing, or
/// does not pass CheckLimit, keeps the default.
TenantLimits LimitsFromFields(const std::vector<std::pair<std::string, std::string>>& fields,
                              const TenantLimits& defaults);

}  // namespace lambda::domain

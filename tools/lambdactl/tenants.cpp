#include "tenants.h"

#include <cstdio>

#include "client_logic.h"
#include "lambda/domain/tenant_limits.h"
#include "lambda/redis/keys.h"
#include "redis_ask.h"

namespace lambda::ctl {
namespace {

std::string Number(double v) { return std::to_string(static_cast<int64_t>(v)); }

int Show(redis::SyncClient& c, const std::string& prefix, const std::string& tenant) {
  auto stored = Ask(c, {"HGETALL", redis::keys::TenantLimits(prefix, tenant)});
  if (!stored) return 1;
  auto live = Ask(c, {"ZCARD", redis::keys::TenantLive(prefix, tenant)});
  if (!live) return 1;
  std::vector<std::pair<std::string, std::string>> fields;
  for (size_t i = 0; i + 1 < stored->elements.size(); i += 2) {
    fields.emplace_back(stored->elements[i].str, stored->elements[i + 1].str);
  }
  const auto limits = domain::LimitsFromFields(fields, domain::TenantLimits{});
  auto origin = [&fields](std::string_view field) {
    for (const auto& [f, v] : fields) {
      if (f == field && !domain::CheckLimit(f, v)) return "";
    }
    return " (default)";
  };
  std::printf("tenant %s\n", tenant.c_str());
  std::printf("max_instances %lld%s; live instances now %lld\n",
              static_cast<long long>(limits.max_instances), origin(domain::kLimitMaxInstances),
              static_cast<long long>(live->AsInt()));
  std::printf("max_inflight %lld%s (instances in a transitional status)\n",
              static_cast<long long>(limits.max_inflight), origin(domain::kLimitMaxInflight));
  std::printf("rate %s/s%s\n", Number(limits.rate).c_str(), origin(domain::kLimitRate));
  std::printf("burst %s%s\n", Number(limits.burst).c_str(), origin(domain::kLimitBurst));
  std::printf("max_watchers %lld%s (per shim)\n", static_cast<long long>(limits.max_watchers),
              origin(domain::kLimitMaxWatchers));
  std::printf(
      "(default: the built-in value; an api-shim started with other defaults applies "
      "its own)\n");
  return 0;
}

}  // namespace

int RunTenant(redis::SyncClient& c, const TenantArgs& a) {
  if (a.positional.size() != 3) return 2;
  const std::string& verb = a.positional[1];
  const std::string& tenant = a.positional[2];
  if (!ValidTenant(tenant)) {
    std::fprintf(stderr, "lambdactl: a tenant is 1..64 of [A-Za-z0-9._-]\n");
    return 2;
  }
  if (verb == "show") return Show(c, a.prefix, tenant);
  if (verb != "set") return 2;
  auto [flags, error] = LimitFlags(a.all);
  if (!error.empty()) {
    std::fprintf(stderr, "lambdactl: %s\n", error.c_str());
    return 2;
  }
  if (flags.empty()) {
    std::fprintf(stderr,
                 "lambdactl: tenant set needs --max-instances, --rate, --burst or "
                 "--max-watchers\n");
    return 2;
  }
  const std::string key = redis::keys::TenantLimits(a.prefix, tenant);
  std::vector<std::string> set{"HSET", key}, reset{"HDEL", key};
  for (const auto& [field, value] : flags) {
    if (value == "default") {
      reset.push_back(field);
    } else {
      set.push_back(field);
      set.push_back(value);
    }
  }
  if (set.size() > 2 && !Ask(c, set)) return 1;
  if (reset.size() > 2 && !Ask(c, reset)) return 1;
  return Show(c, a.prefix, tenant);
}

}  // namespace lambda::ctl

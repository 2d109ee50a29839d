#pragma once
// lambdactl tenant set|show (SPEC §3): a tenant's quotas and limits, stored in its limits hash
// (keys::TenantLimits), which the api-shim reads (index_create.lua at each create; the rest
// cached for a second or two).
#include <string>
#include <utility>
#include <vector>

#include "lambda/redis/sync_client.h"

namespace lambda::ctl {

struct TenantArgs {
  std::vector<std::string> positional;  ///< "tenant", the verb, the tenant
  std::string prefix;                   ///< Redis key prefix
  std::vector<std::string> all;         ///< every argument (the limit flags are read from it)
};

/// Runs one tenant verb; returns the exit code (2: usage, 1: failed).
int RunTenant(redis::SyncClient& redis, const TenantArgs& args);

}  // namespace lambda::ctl

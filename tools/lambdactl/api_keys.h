#pragma once
// lambdactl apikey create|list|revoke (SPEC §3): API keys with a scope, a name and an expiry.
// The key is printed once; only its SHA-256 is stored (keys.h ApiKey), indexed per tenant.
#include <string>
#include <vector>

#include "lambda/redis/sync_client.h"

namespace lambda::ctl {

struct ApiKeyArgs {
  std::vector<std::string> positional;  ///< "apikey", the verb, and the key for revoke
  std::string prefix;                   ///< Redis key prefix
  std::string tenant;                   ///< --tenant (create, list)
  std::string name;                     ///< --name (create)
  std::string scope = "operate";        ///< --scope (create)
  std::string expires;                  ///< --expires (create): Ns, Nm, Nh or Nd
  std::string flag_without_value;       ///< a flag given last, with no value after it
};

/// Runs one apikey verb; returns the exit code (2: usage, 1: failed).
int RunApiKey(redis::SyncClient& redis, const ApiKeyArgs& args);

/// `--name`: at most 64 of [A-Za-z0-9._- ] (what `apikey list` prints).
bool ValidKeyName(const std::string& name);

}  // namespace lambda::ctl

#pragma once
// lambdactl accesskey create|list|revoke (SPEC §3): access key pairs for requests signed the way
// the Zenlayer SDK signs them by default. The secret is printed once and stored only sealed under
// the server key (--server-key-file / LAMBDA_SERVER_KEY_FILE, the file the api-shim reads).
#include <string>
#include <vector>

#include "lambda/redis/sync_client.h"

namespace lambda::ctl {

struct AccessKeyArgs {
  std::vector<std::string> positional;  ///< "accesskey", the verb, and the id for revoke
  std::string prefix;                   ///< Redis key prefix
  std::string tenant;                   ///< --tenant (create, list)
  std::string name;                     ///< --name (create)
  std::string server_key_file;          ///< --server-key-file (create)
};

/// Runs one accesskey verb; returns the exit code (2: usage, 1: failed).
int RunAccessKey(redis::SyncClient& redis, const AccessKeyArgs& args);

/// A new access key id: "AK" and 20 uppercase hex digits (80 random bits; no leading '-', so it
/// is never taken for a flag).
std::string NewAccessKeyId();

}  // namespace lambda::ctl

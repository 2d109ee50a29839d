#pragma once
// One Redis command of an admin verb, its failure printed once in one wording.
#include <optional>
#include <string>
#include <vector>

#include "lambda/redis/sync_client.h"

namespace lambda::ctl {

/// The answer, or nullopt after printing why (an error answer or a lost connection).
std::optional<redis::Value> Ask(redis::SyncClient& c, const std::vector<std::string>& argv);

}  // namespace lambda::ctl

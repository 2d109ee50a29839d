#include "redis_ask.h"

#include <cstdio>

namespace lambda::ctl {

std::optional<redis::Value> Ask(redis::SyncClient& c, const std::vector<std::string>& argv) {
  auto r = c.Command(argv);
  if (!r || r->is_error()) {
    std::fprintf(stderr, "lambdactl: redis error: %s\n",
                 r ? r->str.c_str() : r.error().message.c_str());
    return std::nullopt;
  }
  return std::move(*r);
}

}  // namespace lambda::ctl

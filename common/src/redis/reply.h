#pragma once
/// hiredis replies as owned `Value`s (shared by the async and the blocking client).
#include <hiredis/hiredis.h>

#include "lambda/redis/async_client.h"

namespace lambda::redis::detail {

Value Copy(const redisReply* r);

}  // namespace lambda::redis::detail

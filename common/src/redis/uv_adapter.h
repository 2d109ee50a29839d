#pragma once
// detail: our libuv event adapter for hiredis. Debian's hiredis 0.14 ships one
// (hiredis/adapters/libuv.h) that drops poll errors: when the server dies with a reset, libuv
// reports POLLERR as a status, the adapter ignores it, and the connection hangs forever with
// every pending command. This one hands errors to hiredis, which then reads the error and
// disconnects (and fails the pending commands) as it should.
#include <uv.h>

struct redisAsyncContext;

namespace lambda::redis::detail {

/// Attaches `ac` to `loop`; REDIS_OK or REDIS_ERR. hiredis owns the attachment from then on and
/// releases it through its cleanup hook.
int AttachToLoop(redisAsyncContext* ac, uv_loop_t* loop);

}  // namespace lambda::redis::detail

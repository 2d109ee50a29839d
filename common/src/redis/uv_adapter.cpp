#include "redis/uv_adapter.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <memory>

#include "lambda/uv/handle.h"

namespace lambda::redis::detail {
namespace {

struct Attachment {
  Attachment(uv_loop_t* loop, int fd, redisAsyncContext* c)
      : ac(c), poll([loop, fd](uv_poll_t* p) { return uv_poll_init_socket(loop, p, fd); }) {
    poll.get()->data = this;
  }
  redisAsyncContext* ac;
  uv::UvHandle<uv_poll_t> poll;
  int events = 0;
  bool* alive = nullptr;  // set while a callback runs, so a free inside it is noticed

  // hiredis asks to add reading on every command and every write, and to add writing on every
  // command: only a change of the set reaches libuv, whose uv_poll_start removes the fd from
  // epoll and adds it back (two epoll_ctl calls) even when the set is the same.
  void Update(int add, int remove) {
    const int next = (events | add) & ~remove;
    if (next == events) return;
    events = next;
    if (events == 0) {
      uv_poll_stop(poll.get());
    } else {
      uv_poll_start(poll.get(), events, &OnPoll);
    }
  }

  static void OnPoll(uv_poll_t* p, int status, int ev) noexcept {
    auto* self = static_cast<Attachment*>(p->data);
    if (self == nullptr) return;
    bool alive = true;
    self->alive = &alive;
    redisAsyncContext* ac = self->ac;
    if (status < 0) {
      // The socket failed (reset, refused): reading makes hiredis see the error and disconnect.
      redisAsyncHandleRead(ac);
    } else {
      if (ev & UV_READABLE) redisAsyncHandleRead(ac);
      if (alive && (ev & UV_WRITABLE)) redisAsyncHandleWrite(ac);
    }
    if (alive) self->alive = nullptr;
  }
};

Attachment* Of(void* privdata) { return static_cast<Attachment*>(privdata); }

void AddRead(void* d) { Of(d)->Update(UV_READABLE, 0); }
void DelRead(void* d) { Of(d)->Update(0, UV_READABLE); }
void AddWrite(void* d) { Of(d)->Update(UV_WRITABLE, 0); }
void DelWrite(void* d) { Of(d)->Update(0, UV_WRITABLE); }
void Cleanup(void* d) {
  std::unique_ptr<Attachment> reclaim(Of(d));  // closes the poll handle through its close callback
  if (reclaim->alive != nullptr) *reclaim->alive = false;
  reclaim->ac->ev.data = nullptr;
}

}  // namespace

int AttachToLoop(redisAsyncContext* ac, uv_loop_t* loop) {
  if (ac->ev.data != nullptr) return REDIS_ERR;
  auto a = std::make_unique<Attachment>(loop, ac->c.fd, ac);
  ac->ev.addRead = &AddRead;
  ac->ev.delRead = &DelRead;
  ac->ev.addWrite = &AddWrite;
  ac->ev.delWrite = &DelWrite;
  ac->ev.cleanup = &Cleanup;
  ac->ev.data = a.release();
  return REDIS_OK;
}

}  // namespace lambda::redis::detail

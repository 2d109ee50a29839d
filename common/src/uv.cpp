#include "lambda/log/log.h"
#include "lambda/uv/handle.h"

namespace lambda::uv {

void Timer::OnTimer(uv_timer_t* t) noexcept {
  auto* self = static_cast<Timer*>(t->data);
  if (self == nullptr || !self->fn_) return;
  try {
    // Copy first: the callback may restart this timer with another function.
    auto fn = self->fn_;
    fn();
  } catch (const std::exception& e) {
    log::Error("timer callback threw", {{"error", e.what()}});
  }
}

void Async::OnAsync(uv_async_t* a) noexcept {
  auto* self = static_cast<Async*>(a->data);
  if (self == nullptr) return;
  try {
    self->fn_();
  } catch (const std::exception& e) {
    log::Error("async callback threw", {{"error", e.what()}});
  }
}

void RunUntilStopped(uv_loop_t* loop, std::function<void()> on_stop) {
  bool stopping = false;
  std::function<void()> once = [&] {
    if (stopping) return;
    stopping = true;
    on_stop();
  };
  UvHandle<uv_signal_t> sigterm([loop](uv_signal_t* s) { return uv_signal_init(loop, s); });
  UvHandle<uv_signal_t> sigint([loop](uv_signal_t* s) { return uv_signal_init(loop, s); });
  sigterm.get()->data = &once;
  sigint.get()->data = &once;
  auto cb = [](uv_signal_t* s, int) {
    if (s->data != nullptr) (*static_cast<std::function<void()>*>(s->data))();
  };
  uv_signal_start(sigterm.get(), cb, SIGTERM);
  uv_signal_start(sigint.get(), cb, SIGINT);
  uv_run(loop, UV_RUN_DEFAULT);
}

bool DrainAndClose(uv_loop_t* loop) {
  for (int i = 0; i < 100; ++i) {
    uv_run(loop, UV_RUN_NOWAIT);
    if (uv_loop_close(loop) == 0) return true;
  }
  // Something is still open: close whatever is left so the loop can end.
  uv_walk(
      loop,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
  uv_run(loop, UV_RUN_DEFAULT);
  return uv_loop_close(loop) == 0;
}

}  // namespace lambda::uv

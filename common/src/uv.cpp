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

void Check::OnCheck(uv_check_t* c) noexcept {
  auto* self = static_cast<Check*>(c->data);
  if (self == nullptr || !self->fn_) return;
  try {
    auto fn = self->fn_;
    fn();
  } catch (const std::exception& e) {
    log::Error("check callback threw", {{"error", e.what()}});
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

StopSignals::StopSignals(uv_loop_t* loop, std::function<void()> on_stop)
    : on_stop_(std::move(on_stop)),
      sigterm_([loop](uv_signal_t* s) { return uv_signal_init(loop, s); }),
      sigint_([loop](uv_signal_t* s) { return uv_signal_init(loop, s); }) {
  sigterm_.get()->data = this;
  sigint_.get()->data = this;
  uv_signal_start(sigterm_.get(), &OnSignal, SIGTERM);
  uv_signal_start(sigint_.get(), &OnSignal, SIGINT);
}

void StopSignals::OnSignal(uv_signal_t* s, int /*signum*/) noexcept {
  auto* self = static_cast<StopSignals*>(s->data);
  if (self == nullptr || self->stopping_) return;
  self->stopping_ = true;
  try {
    self->on_stop_();
  } catch (const std::exception& e) {
    log::Error("shutdown threw", {{"error", e.what()}});
  }
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

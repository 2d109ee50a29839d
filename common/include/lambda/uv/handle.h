#pragma once
/// One owner per libuv handle. `UvHandle<T>` owns a heap `uv_*_t`; its destructor starts
/// `uv_close`, whose callback frees the memory (never before). Non-copyable, non-movable.
/// Thread: the loop's thread only. After destruction no callback of the handle runs again
/// (uv_close stops it), so owners may set `data = this`.
#include <uv.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

namespace lambda::uv {

template <typename T>
class UvHandle {
 public:
  /// `init(T*)` is e.g. `[&](uv_timer_t* h) { return uv_timer_init(loop, h); }`.
  // Copy and move are deleted, so this constructor hides neither.
  template <typename Init>
  explicit UvHandle(Init&& init)  // NOLINT(bugprone-forwarding-reference-overload)
      : h_(std::make_unique<T>()) {
    if (int rc = init(h_.get()); rc != 0) {
      throw std::runtime_error(std::string("uv handle init: ") + uv_strerror(rc));
    }
  }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;
  ~UvHandle() {
    T* raw = h_.release();
    raw->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(raw), &OnClose);
  }

  T* get() const { return h_.get(); }
  uv_handle_t* handle() const { return reinterpret_cast<uv_handle_t*>(h_.get()); }
  uv_stream_t* stream() const { return reinterpret_cast<uv_stream_t*>(h_.get()); }

 private:
  static void OnClose(uv_handle_t* h) noexcept {
    std::unique_ptr<T> reclaim(reinterpret_cast<T*>(h));
  }
  std::unique_ptr<T> h_;
};

/// A timer with a std::function callback. Thread: loop only.
class Timer {
 public:
  explicit Timer(uv_loop_t* loop) : h_([loop](uv_timer_t* t) { return uv_timer_init(loop, t); }) {
    h_.get()->data = this;
  }
  /// Calls `fn` after `timeout_ms`, then every `repeat_ms` if non-zero. Replaces any earlier start.
  void Start(uint64_t timeout_ms, uint64_t repeat_ms, std::function<void()> fn) {
    fn_ = std::move(fn);
    uv_timer_start(h_.get(), &OnTimer, timeout_ms, repeat_ms);
  }
  /// Stops the timer and drops its callback (and whatever the callback held).
  void Stop() {
    uv_timer_stop(h_.get());
    fn_ = nullptr;
  }
  bool active() const { return uv_is_active(h_.handle()) != 0; }
  /// An unreferenced timer does not keep the loop alive.
  void Unref() { uv_unref(h_.handle()); }

 private:
  static void OnTimer(uv_timer_t* t) noexcept;
  UvHandle<uv_timer_t> h_;
  std::function<void()> fn_;
};

/// Runs `fn` once per loop iteration, right after the I/O callbacks of that iteration (a
/// uv_check handle), while started. Thread: loop only.
class Check {
 public:
  explicit Check(uv_loop_t* loop) : h_([loop](uv_check_t* c) { return uv_check_init(loop, c); }) {
    h_.get()->data = this;
  }
  void Start(std::function<void()> fn) {
    fn_ = std::move(fn);
    uv_check_start(h_.get(), &OnCheck);
  }
  void Stop() { uv_check_stop(h_.get()); }
  bool active() const { return uv_is_active(h_.handle()) != 0; }

 private:
  static void OnCheck(uv_check_t* c) noexcept;
  UvHandle<uv_check_t> h_;
  std::function<void()> fn_;
};

/// While started, the loop does not block in poll (a uv_idle handle): whatever is due in this
/// iteration's check phase runs without waiting for I/O or a timer. Thread: loop only.
class NoBlock {
 public:
  explicit NoBlock(uv_loop_t* loop) : h_([loop](uv_idle_t* i) { return uv_idle_init(loop, i); }) {}
  void Start() {
    uv_idle_start(h_.get(), [](uv_idle_t*) {});
  }
  void Stop() { uv_idle_stop(h_.get()); }

 private:
  UvHandle<uv_idle_t> h_;
};

/// Runs `fn` on the loop thread; `Send` may be called from any thread (sends coalesce).
class Async {
 public:
  Async(uv_loop_t* loop, std::function<void()> fn)
      : fn_(std::move(fn)), h_([loop](uv_async_t* a) { return uv_async_init(loop, a, &OnAsync); }) {
    h_.get()->data = this;
  }
  void Send() { uv_async_send(h_.get()); }
  void Unref() { uv_unref(h_.handle()); }

 private:
  static void OnAsync(uv_async_t* a) noexcept;
  std::function<void()> fn_;
  UvHandle<uv_async_t> h_;
};

/// From construction, the first SIGTERM or SIGINT calls `on_stop` (once) on the loop, which must
/// end the loop (uv_stop) when its shutdown is done. Made before a service starts, so a signal
/// that arrives while it starts is not the default action (death) but a shutdown as soon as the
/// loop runs. Thread: loop only.
class StopSignals {
 public:
  StopSignals(uv_loop_t* loop, std::function<void()> on_stop);
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  static void OnSignal(uv_signal_t* s, int signum) noexcept;
  std::function<void()> on_stop_;
  bool stopping_ = false;
  UvHandle<uv_signal_t> sigterm_;
  UvHandle<uv_signal_t> sigint_;
};

/// Runs the loop until every handle is closed; true when uv_loop_close succeeded.
bool DrainAndClose(uv_loop_t* loop);

}  // namespace lambda::uv

#pragma once
// Runs a libuv loop until a callback has filled `done` (or `ms` pass): the tests of components
// that live on a loop (providers, clients) drive their own.
#include <uv.h>

#include <chrono>
#include <optional>
#include <utility>

namespace lambda::testing {

template <typename T>
bool RunUntil(uv_loop_t* loop, const std::optional<T>& done, int ms = 10000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!done && std::chrono::steady_clock::now() < deadline) uv_run(loop, UV_RUN_ONCE);
  return done.has_value();
}

/// Starts an asynchronous operation and runs the loop until it reports (a timeout otherwise).
/// `Status` is the operation's result type (lambda::Status); `op` gets the callback.
template <typename Status, typename Op>
Status RunOp(uv_loop_t* loop, const Op& op, int ms, Status on_timeout) {
  std::optional<Status> st;
  op([&](Status s) { st = std::move(s); });
  if (!RunUntil(loop, st, ms)) return on_timeout;
  return std::move(*st);
}

}  // namespace lambda::testing

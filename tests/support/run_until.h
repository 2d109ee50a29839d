#pragma once
// Runs a libuv loop until a callback has filled `done` (or `ms` pass): the tests of components
// that live on a loop (providers, clients) drive their own.
#include <uv.h>

#include <chrono>
#include <optional>

namespace lambda::testing {

template <typename T>
bool RunUntil(uv_loop_t* loop, const std::optional<T>& done, int ms = 10000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!done && std::chrono::steady_clock::now() < deadline) uv_run(loop, UV_RUN_ONCE);
  return done.has_value();
}

}  // namespace lambda::testing

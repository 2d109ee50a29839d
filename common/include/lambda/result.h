#pragma once
/// Errors are values at every asynchronous boundary: a `Result<T>` holds a T or an `Error`.
#include <string>
#include <utility>
#include <variant>

namespace lambda {

enum class Code {
  kOk = 0,
  kInvalidArgument,  ///< bad input: a 4xx or a dead letter
  kNotFound,
  kConflict,
  kUnavailable,  ///< a dependency is down or saturated: 503 + Retry-After
  kTimeout,
  kInternal,
};

const char* CodeName(Code code);

struct Error {
  Code code = Code::kInternal;
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status OkStatus() { return Unit{}; }

}  // namespace lambda

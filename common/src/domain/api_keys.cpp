#include "lambda/domain/api_keys.h"

#include <string>

namespace lambda::domain {

std::optional<KeyScope> ParseScope(std::string_view text) {
  if (text == "read") return KeyScope::kRead;
  if (text == "operate") return KeyScope::kOperate;
  if (text == "admin") return KeyScope::kAdmin;
  return std::nullopt;
}

std::string_view ScopeName(KeyScope scope) {
  switch (scope) {
    case KeyScope::kRead:
      return "read";
    case KeyScope::kOperate:
      return "operate";
    case KeyScope::kAdmin:
      return "admin";
  }
  return "read";
}

KeyScope StoredScope(std::string_view stored) {
  if (stored.empty()) return KeyScope::kAdmin;
  return ParseScope(stored).value_or(KeyScope::kRead);
}

KeyScope RequiredScope(std::string_view method, RouteKind kind) {
  if (kind == RouteKind::kQuery) return KeyScope::kRead;
  if (method == "GET" || method == "HEAD") return KeyScope::kRead;
  return kind == RouteKind::kManagement ? KeyScope::kAdmin : KeyScope::kOperate;
}

Result<int64_t> ParseDurationMs(std::string_view text) {
  const Error bad{Code::kInvalidArgument,
                  "a duration is a whole number followed by s, m, h or d (30s, 15m, 12h, 30d), "
                  "at most 3650d"};
  if (text.size() < 2 || text.size() > 12) return bad;
  int64_t unit_ms = 0;
  switch (text.back()) {
    case 's':
      unit_ms = 1000;
      break;
    case 'm':
      unit_ms = int64_t{60} * 1000;
      break;
    case 'h':
      unit_ms = int64_t{3600} * 1000;
      break;
    case 'd':
      unit_ms = int64_t{24} * 3600 * 1000;
      break;
    default:
      return bad;
  }
  int64_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return bad;
    n = n * 10 + (c - '0');
    if (n > 3650LL * 24 * 3600) return bad;  // no overflow: 11 digits at most
  }
  const int64_t ms = n * unit_ms;
  if (n == 0 || ms > 3650LL * 24 * 3600 * 1000) return bad;
  return ms;
}

}  // namespace lambda::domain

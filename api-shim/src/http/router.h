#pragma once
/// Pure routing: (method, path) → a route with its path parameters, or 404 / 405 + Allow.
#include <string>
#include <string_view>

namespace lambda::http {

enum class Route {
  kNotFound,
  kMethodNotAllowed,
  kHealthz,
  kReadyz,
  kMetrics,
  kOpenApi,
  kAuthenticate,
  kCreate,
  kList,
  kCount,
  kDetails,
  kStatus,
  kAction,
  kDestroy,
};

struct RouteMatch {
  Route route = Route::kNotFound;
  std::string id;     ///< instance id from the path, when the route has one
  std::string allow;  ///< for kMethodNotAllowed: the Allow header value
};

RouteMatch Match(std::string_view method, std::string_view path);
/// Routes that answer without an API key.
bool IsPublic(Route r);
std::string_view RouteName(Route r);

}  // namespace lambda::http

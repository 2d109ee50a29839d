#include "http/router.h"

#include <array>
#include <vector>

namespace lambda::http {
namespace {

struct Entry {
  std::string_view method;
  std::string_view pattern;  // segments; "{id}" matches any one segment
  Route route;
};

// Order matters: literal segments before "{id}" at the same depth.
constexpr std::array<Entry, 15> kTable{{
    {"GET", "/healthz", Route::kHealthz},
    {"GET", "/readyz", Route::kReadyz},
    {"GET", "/metrics", Route::kMetrics},
    {"GET", "/api/openapi.yaml", Route::kOpenApi},
    {"GET", "/api/authenticate", Route::kAuthenticate},
    {"POST", "/api/lambda-instances", Route::kCreate},
    {"POST", "/api/lambda-instance", Route::kCreate},
    {"GET", "/api/lambda-instances", Route::kList},
    {"GET", "/api/lambda-instance", Route::kList},
    {"GET", "/api/lambda-instances/count", Route::kCount},
    {"GET", "/api/lambda-instances/{id}", Route::kDetails},
    {"POST", "/api/lambda-instances/{id}", Route::kAction},
    {"DELETE", "/api/lambda-instances/{id}", Route::kDestroy},
    {"GET", "/api/lambda-instances/{id}/status", Route::kStatus},
    {"GET", "/api/lambda-instance/{id}/status", Route::kStatus},
}};

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return out;
}

// Fills *id from the "{id}" segment when the pattern has one.
bool SegmentsMatch(const std::vector<std::string_view>& pattern,
                   const std::vector<std::string_view>& path, std::string* id) {
  if (pattern.size() != path.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == "{id}") {
      *id = std::string(path[i]);
    } else if (pattern[i] != path[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

RouteMatch Match(std::string_view method, std::string_view path) {
  // A trailing slash is optional; an empty segment elsewhere ("//") is not a route.
  if (path.size() > 1 && path.find("//") != std::string_view::npos) return {};
  auto segs = Split(path);
  RouteMatch m;
  std::string allow;
  bool literal_hit = false;
  for (const auto& e : kTable) {
    std::string id;
    auto pat = Split(e.pattern);
    if (!SegmentsMatch(pat, segs, &id)) continue;
    bool is_literal = e.pattern.find("{id}") == std::string_view::npos;
    // A literal route at this path ("count") shadows the "{id}" routes for every method.
    if (!is_literal && literal_hit) continue;
    if (is_literal) literal_hit = true;
    if (e.method == method) {
      if (m.route == Route::kNotFound) {
        m.route = e.route;
        m.id = id;
      }
    }
    if (allow.find(e.method) == std::string::npos) {
      if (!allow.empty()) allow += ", ";
      allow += e.method;
    }
  }
  if (m.route != Route::kNotFound) return m;
  if (!allow.empty()) return {Route::kMethodNotAllowed, {}, allow};
  return {};
}

bool IsPublic(Route r) {
  return r == Route::kHealthz || r == Route::kReadyz || r == Route::kMetrics || r == Route::kOpenApi;
}

std::string_view RouteName(Route r) {
  switch (r) {
    case Route::kNotFound: return "not_found";
    case Route::kMethodNotAllowed: return "method_not_allowed";
    case Route::kHealthz: return "healthz";
    case Route::kReadyz: return "readyz";
    case Route::kMetrics: return "metrics";
    case Route::kOpenApi: return "openapi";
    case Route::kAuthenticate: return "authenticate";
    case Route::kCreate: return "create";
    case Route::kList: return "list";
    case Route::kCount: return "count";
    case Route::kDetails: return "details";
    case Route::kStatus: return "status";
    case Route::kAction: return "action";
    case Route::kDestroy: return "destroy";
  }
  return "unknown";
}

}  // namespace lambda::http

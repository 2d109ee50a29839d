#include "http/router.h"

#include <array>
#include <vector>

namespace lambda::http {
namespace {

using Entry = RouteEntry;  // pattern segments; "{id}" matches any one segment

// Order matters: literal segments before "{id}" at the same depth.
constexpr std::array<Entry, 28> kTable{{
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
    {"GET", "/backend/authenticate", Route::kLegacyAuthenticate},
    {"POST", "/backend/create_lambda_instance", Route::kLegacyCreate},
    {"GET", "/backend/lambda-instances", Route::kLegacyList},
    {"GET", "/backend/lambda-instances/{id}", Route::kLegacyDetails},
    {"DELETE", "/backend/lambda-instances/{id}", Route::kLegacyDestroy},
    {"GET", "/backend/lambda-instances/{id}/status", Route::kLegacyStatus},
    {"POST", "/backend/lambda-instances/{id}/start", Route::kLegacyStart},
    {"POST", "/backend/lambda-instances/{id}/stop", Route::kLegacyStop},
    {"POST", "/backend/lambda-instances/{id}/destroy", Route::kLegacyDestroy},
    {"POST", "/api/v2/vm", Route::kZenlayer},
    {"POST", "/v0/pipelines/{id}/start", Route::kFelderaStart},
    {"POST", "/v0/pipelines/{id}/stop", Route::kFelderaStop},
    {"GET", "/v0/pipelines/{id}", Route::kFelderaGet},
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

// The table's patterns, split once.
const std::vector<std::vector<std::string_view>>& SplitTable() {
  static const auto split = [] {
    std::vector<std::vector<std::string_view>> out;
    out.reserve(std::size(kTable));
    for (const auto& e : kTable) out.push_back(Split(e.pattern));
    return out;
  }();
  return split;
}

}  // namespace

RouteMatch Match(std::string_view method, std::string_view path) {
  // A trailing slash is optional; an empty segment elsewhere ("//") is not a route.
  if (path.size() > 1 && path.find("//") != std::string_view::npos) return {};
  auto segs = Split(path);
  const auto& patterns = SplitTable();
  RouteMatch m;
  std::string allow;
  // HEAD is GET without the body (the server drops it); OPTIONS answers the Allow set.
  const std::string_view want = method == "HEAD" ? std::string_view("GET") : method;
  bool literal_hit = false;
  for (size_t i = 0; i < kTable.size(); ++i) {
    const auto& e = kTable[i];
    std::string id;
    if (!SegmentsMatch(patterns[i], segs, &id)) continue;
    bool is_literal = e.pattern.find("{id}") == std::string_view::npos;
    // A literal route at this path ("count") shadows the "{id}" routes for every method.
    if (!is_literal && literal_hit) continue;
    if (is_literal) literal_hit = true;
    if (e.method == want) {
      if (m.route == Route::kNotFound) {
        m.route = e.route;
        m.id = id;
      }
    }
    if (allow.find(e.method) == std::string::npos) {
      if (!allow.empty()) allow += ", ";
      allow += e.method;
      if (e.method == "GET") allow += ", HEAD";
    }
  }
  if (allow.empty()) return {};
  allow += ", OPTIONS";
  if (method == "OPTIONS") return {Route::kOptions, {}, allow};
  if (m.route != Route::kNotFound) return m;
  return {Route::kMethodNotAllowed, {}, allow};
}

std::vector<RouteEntry> AllRoutes() { return {kTable.begin(), kTable.end()}; }

Dialect DialectOf(Route r) {
  switch (r) {
    case Route::kLegacyAuthenticate:
    case Route::kLegacyCreate:
    case Route::kLegacyList:
    case Route::kLegacyDetails:
    case Route::kLegacyStatus:
    case Route::kLegacyStart:
    case Route::kLegacyStop:
    case Route::kLegacyDestroy:
      return Dialect::kLegacy;
    case Route::kZenlayer:
      return Dialect::kZenlayer;
    case Route::kFelderaStart:
    case Route::kFelderaStop:
    case Route::kFelderaGet:
      return Dialect::kFeldera;
    default:
      return IsPublic(r) ? Dialect::kPublic : Dialect::kService;
  }
}

bool IsPublic(Route r) {
  return r == Route::kHealthz || r == Route::kReadyz || r == Route::kMetrics ||
         r == Route::kOpenApi || r == Route::kOptions;
}

std::string_view RouteName(Route r) {
  switch (r) {
    case Route::kNotFound:
      return "not_found";
    case Route::kMethodNotAllowed:
      return "method_not_allowed";
    case Route::kOptions:
      return "options";
    case Route::kHealthz:
      return "healthz";
    case Route::kReadyz:
      return "readyz";
    case Route::kMetrics:
      return "metrics";
    case Route::kOpenApi:
      return "openapi";
    case Route::kAuthenticate:
      return "authenticate";
    case Route::kCreate:
      return "create";
    case Route::kList:
      return "list";
    case Route::kCount:
      return "count";
    case Route::kDetails:
      return "details";
    case Route::kStatus:
      return "status";
    case Route::kAction:
      return "action";
    case Route::kDestroy:
      return "destroy";
    case Route::kLegacyAuthenticate:
      return "legacy_authenticate";
    case Route::kLegacyCreate:
      return "legacy_create";
    case Route::kLegacyList:
      return "legacy_list";
    case Route::kLegacyDetails:
      return "legacy_details";
    case Route::kLegacyStatus:
      return "legacy_status";
    case Route::kLegacyStart:
      return "legacy_start";
    case Route::kLegacyStop:
      return "legacy_stop";
    case Route::kLegacyDestroy:
      return "legacy_destroy";
    case Route::kZenlayer:
      return "zenlayer";
    case Route::kFelderaStart:
      return "feldera_start";
    case Route::kFelderaStop:
      return "feldera_stop";
    case Route::kFelderaGet:
      return "feldera_get";
  }
  return "unknown";
}

}  // namespace lambda::http

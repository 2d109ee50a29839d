#include "routes/table.h"

#include <array>
#include <vector>

#include "lambda/http/router.h"

namespace lambda::routes {
namespace {

using Entry = RouteEntry;  // "{id}" matches any one segment

// Order matters: literal segments before "{id}" at the same depth.
constexpr std::array<Entry, 40> kTable{{
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
    {"POST", "/api/lambda-instances/actions", Route::kBatch},
    {"GET", "/api/lambda-instances/events", Route::kTenantEvents},
    {"GET", "/api/audit", Route::kAudit},
    {"GET", "/api/lambda-instances/{id}", Route::kDetails},
    {"POST", "/api/lambda-instances/{id}", Route::kAction},
    {"DELETE", "/api/lambda-instances/{id}", Route::kDestroy},
    {"GET", "/api/lambda-instances/{id}/status", Route::kStatus},
    {"GET", "/api/lambda-instance/{id}/status", Route::kStatus},
    {"GET", "/api/lambda-instances/{id}/events", Route::kEvents},
    {"PUT", "/api/lambda-instances/{id}/tags", Route::kTags},
    {"GET", "/ui", Route::kUi},
    {"GET", "/ui/{id}", Route::kUi},
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
    {"GET", "/v0/config", Route::kFelderaConfig},
    {"GET", "/v0/pipelines", Route::kFelderaList},
    {"POST", "/v0/pipelines/{id}/dismiss_error", Route::kFelderaDismissError},
    {"POST", "/v0/pipelines/{id}/pause", Route::kFelderaPause},
    {"POST", "/v0/pipelines/{id}/resume", Route::kFelderaResume},
}};

const http::Router& TheRouter() {
  static const http::Router router = [] {
    std::vector<http::RouteSpec> specs;
    specs.reserve(kTable.size());
    for (const auto& e : kTable) specs.push_back({e.method, e.pattern, static_cast<int>(e.route)});
    return http::Router(std::move(specs));
  }();
  return router;
}

}  // namespace

RouteMatch Match(std::string_view method, std::string_view path) {
  auto m = TheRouter().Match(method, path);
  switch (m.kind) {
    case http::PathMatch::Kind::kFound:
      return {static_cast<Route>(m.route), std::move(m.id), {}};
    case http::PathMatch::Kind::kOptions:
      return {Route::kOptions, {}, std::move(m.allow)};
    case http::PathMatch::Kind::kMethodNotAllowed:
      return {Route::kMethodNotAllowed, {}, std::move(m.allow)};
    case http::PathMatch::Kind::kNotFound:
      break;
  }
  return {};
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
    case Route::kFelderaConfig:
    case Route::kFelderaList:
    case Route::kFelderaDismissError:
    case Route::kFelderaPause:
    case Route::kFelderaResume:
      return Dialect::kFeldera;
    default:
      return IsPublic(r) ? Dialect::kPublic : Dialect::kService;
  }
}

bool IsPublic(Route r) {
  return r == Route::kHealthz || r == Route::kReadyz || r == Route::kMetrics ||
         r == Route::kOpenApi || r == Route::kOptions || r == Route::kUi;
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
    case Route::kEvents:
      return "events";
    case Route::kTenantEvents:
      return "tenant_events";
    case Route::kBatch:
      return "batch";
    case Route::kAudit:
      return "audit";
    case Route::kTags:
      return "tags";
    case Route::kUi:
      return "ui";
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
    case Route::kFelderaConfig:
      return "feldera_config";
    case Route::kFelderaList:
      return "feldera_list";
    case Route::kFelderaDismissError:
      return "feldera_dismiss_error";
    case Route::kFelderaPause:
      return "feldera_pause";
    case Route::kFelderaResume:
      return "feldera_resume";
  }
  return "unknown";
}

}  // namespace lambda::routes

#pragma once
/// The shim's route table: (method, path) → a route with its path parameters, or 404 / 405 +
/// Allow, through the generic `http::Router`.
#include <string>
#include <string_view>
#include <vector>

namespace lambda::routes {

enum class Route {
  kNotFound,
  kMethodNotAllowed,
  kOptions,  ///< OPTIONS on a known path: 204 with Allow
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
  kEvents,        ///< §4.4 history, JSON or Server-Sent Events
  kTenantEvents,  ///< §4.4 every change of the tenant's instances (Server-Sent Events)
  kBatch,         ///< §4.4 one action on many instances
  kAudit,         ///< §4.5 the tenant's admitted actions
  kTags,          ///< §4.5 PUT an instance's tags
  kUi,            ///< the dashboard's static files
  // §4.2 legacy /backend
  kLegacyAuthenticate,
  kLegacyCreate,
  kLegacyList,
  kLegacyDetails,
  kLegacyStatus,
  kLegacyStart,
  kLegacyStop,
  kLegacyDestroy,
  // §4.3 Zenlayer VM API (action in X-ZC-Action)
  kZenlayer,
  // §4.3 Feldera pipelines
  kFelderaStart,
  kFelderaStop,
  kFelderaGet,
  kFelderaConfig,        ///< GET /v0/config: what the official client checks first
  kFelderaList,          ///< GET /v0/pipelines
  kFelderaDismissError,  ///< clears failure_message
  kFelderaPause,         ///< Running → Paused: services stopped, VMs kept
  kFelderaResume,        ///< Paused → Running
};

/// Which API family a route belongs to: each shapes its own errors.
enum class Dialect { kPublic, kService, kLegacy, kZenlayer, kFeldera };
Dialect DialectOf(Route r);

/// One routing-table entry, for documentation checks (the OpenAPI test).
struct RouteEntry {
  std::string_view method;
  std::string_view pattern;
  Route route;
};
std::vector<RouteEntry> AllRoutes();

struct RouteMatch {
  Route route = Route::kNotFound;
  std::string id;     ///< instance id from the path, when the route has one
  std::string allow;  ///< the Allow header value (for kMethodNotAllowed and kOptions)
};

/// HEAD matches as GET; OPTIONS on a known path is kOptions. Allow lists HEAD beside GET and
/// always OPTIONS.
RouteMatch Match(std::string_view method, std::string_view path);
/// Routes that answer without an API key.
bool IsPublic(Route r);
std::string_view RouteName(Route r);

}  // namespace lambda::routes

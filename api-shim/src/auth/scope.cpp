#include "auth/scope.h"

namespace lambda::shim {

domain::RouteKind KindOf(routes::Route route, const http::Request& req) {
  using routes::Route;
  switch (route) {
    case Route::kZenlayer: {
      const std::string* action = req.Header("x-zc-action");
      return action != nullptr && action->rfind("Describe", 0) == 0 ? domain::RouteKind::kQuery
                                                                    : domain::RouteKind::kInstances;
    }
    case Route::kAudit:
      return domain::RouteKind::kManagement;
    default:
      return domain::RouteKind::kInstances;
  }
}

domain::KeyScope ScopeNeeded(routes::Route route, const http::Request& req) {
  return domain::RequiredScope(req.method, KindOf(route, req));
}

std::string ScopeRefusalText(domain::KeyScope have, domain::KeyScope need) {
  return "Forbidden: this API key's scope is '" + std::string(domain::ScopeName(have)) +
         "'; this request needs '" + std::string(domain::ScopeName(need)) + "'.";
}

}  // namespace lambda::shim

#pragma once
/// Which kind each route is, for the key scopes (SPEC §3; the rule itself is
/// domain::RequiredScope over the method and the kind). A new route declares its kind here:
/// instances (the default), management (webhooks, schedules, keys: writes need admin) or query.
/// Pure.
#include <string>
#include <string_view>

#include "lambda/domain/api_keys.h"
#include "lambda/http/message.h"
#include "routes/table.h"

namespace lambda::shim {

/// The kind of `route`; the Zenlayer route's is its action's (`Describe*` only reads).
domain::RouteKind KindOf(routes::Route route, const http::Request& req);
/// The scope `req` on `route` needs.
domain::KeyScope ScopeNeeded(routes::Route route, const http::Request& req);
/// The 403's text for a key of `have` refused a request needing `need`.
std::string ScopeRefusalText(domain::KeyScope have, domain::KeyScope need);

}  // namespace lambda::shim

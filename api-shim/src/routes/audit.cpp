// SPEC §4.5: `GET /api/audit/`, the tenant's own admitted actions (audit/trail.h).
#include "audit/trail.h"
#include "core.h"
#include "routes/shape.h"

namespace lambda::shim::dialects {

void AuditTrail(Core& core, const std::shared_ptr<Call>& call) {
  auto query = audit::ParseQuery(call->req);
  if (!query) return core.Reply(*call, 400, routes::ErrorBody(400, query.error().message));
  core.ReadAudit(call->tenant, query->start, query->limit,
                 [&core, call, limit = query->limit](Result<redis::Value> r) {
                   if (!r || r->is_error()) {
                     return core.ReplyUnavailable(*call, r ? r->str : r.error().message);
                   }
                   core.Reply(*call, 200, audit::PageBody(*r, limit));
                 });
}

}  // namespace lambda::shim::dialects

// SPEC §4.2: the legacy /backend routes (seed documents 000 and 002), mapped onto the core.
#include "core.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"
#include "routes/body.h"
#include "routes/dialects.h"

namespace lambda::shim {
namespace {
constexpr std::string_view kNotFound = "The specified lambda instance doesn't exist.";

domain::Action ActionOf(routes::Route r) {
  if (r == routes::Route::kLegacyStart) return domain::Action::kStart;
  if (r == routes::Route::kLegacyStop) return domain::Action::kStop;
  return domain::Action::kDestroy;
}
void List(Core& core, const std::shared_ptr<Call>& call);

}  // namespace

namespace dialects {

void Legacy(Core& core, const std::shared_ptr<Call>& call) {
  using routes::Route;
  const Route route = call->match.route;
  if (route == Route::kLegacyAuthenticate) return core.Reply(*call, 200, routes::AuthenticateOk());
  if (route == Route::kLegacyList) return List(core, call);
  if (route == Route::kLegacyCreate) {
    return core.Create(call, [&core, call](const Creation& c) {
      switch (c.kind) {
        case Creation::Kind::kInvalid: {
          std::string all;
          for (const auto& p : c.problems) all += (all.empty() ? "" : "; ") + p;
          return core.Reply(*call, 400, routes::LegacyError(400, all));
        }
        case Creation::Kind::kUnavailable:
          return core.ReplyUnavailable(*call, c.error);
        case Creation::Kind::kUnknown:
          return core.ReplyUnknown(*call, c.error);
        case Creation::Kind::kOverQuota:
          return core.ReplyLimited(*call, QuotaRefusal(c.limit_kind, c.limit));
        case Creation::Kind::kAccepted:
          return core.Reply(*call, 202, routes::LegacyCreated(c.id));
      }
    });
  }
  // The seed documents address instances by uuid and show integers too: both resolve.
  core.ResolveId(call->match.id, [&core, call, route](Result<std::string> id) {
    if (!id) return core.ReplyUnavailable(*call, id.error().message);
    if (id->empty()) return core.Reply(*call, 404, routes::LegacyError(404, kNotFound));
    if (route == Route::kLegacyStatus || route == Route::kLegacyDetails) {
      return core.Read(
          call, *id,
          [&core, call, route](Result<std::optional<routes::InstanceRecord>> r) {
            if (!r) return core.ReplyUnavailable(*call, r.error().message);
            if (!*r) return core.Reply(*call, 404, routes::LegacyError(404, kNotFound));
            core.Reply(*call, 200,
                       route == Route::kLegacyStatus ? routes::LegacyStatusBody(**r)
                                                     : routes::LegacyDetailsBody(**r));
          },
          /*status_only=*/false);
    }
    domain::Action action = ActionOf(route);
    core.Admit(call, *id, action, core.AllowedFrom(action), "running",
               [&core, call, action](const AdmissionOutcome& a) {
                 switch (a.kind) {
                   case AdmissionOutcome::Kind::kNotFound:
                     return core.Reply(*call, 404, routes::LegacyError(404, kNotFound));
                   case AdmissionOutcome::Kind::kRefused:
                     return core.Reply(
                         *call, 409,
                         routes::LegacyError(409, domain::Admit(action, a.status).message));
                   case AdmissionOutcome::Kind::kOverQuota:
                     return core.ReplyLimited(*call, QuotaRefusal(a.limit_kind, a.limit));
                   case AdmissionOutcome::Kind::kUnavailable:
                     return core.ReplyUnavailable(*call, a.error);
                   case AdmissionOutcome::Kind::kUnknown:
                     return core.ReplyUnknown(*call, a.error);
                   case AdmissionOutcome::Kind::kAccepted:
                     return core.Reply(*call, 202, routes::LegacySuccess());
                 }
               });
  });
}

}  // namespace dialects

namespace {

void List(Core& core, const std::shared_ptr<Call>& call) {
  std::string limit_text, page_text;
  bool has_limit = call->req.QueryParam("limit", &limit_text);
  bool has_page = call->req.QueryParam("page", &page_text);
  int64_t start = 0, stop = -1;
  if (has_limit != has_page)
    return core.Reply(*call, 400, routes::LegacyError(400, "Missing parameter"));
  if (has_limit) {
    auto limit = util::ParseInt(limit_text);
    auto page = util::ParseInt(page_text);
    if (!limit || !page || *limit > routes::kMaxListPosition || *page > routes::kMaxListPosition)
      return core.Reply(*call, 400, routes::LegacyError(400, "Bad parameter"));
    if (*limit <= 0 || *page <= 0) {
      return core.Reply(*call, 400,
                        routes::LegacyError(400, "Zero or negative indexing not supported"));
    }
    // A page past any index is empty; the product stays far inside a Lua number's integers.
    start = *page - 1 > routes::kMaxListPosition / *limit ? routes::kMaxListPosition
                                                          : (*page - 1) * *limit;
    stop = start + *limit - 1;
  }
  core.ReadPage(
      call->tenant, false, start, stop, {"name", "seq"}, [&core, call](Result<IndexPage> r) {
        if (!r) return core.ReplyUnavailable(*call, r.error().message);
        std::vector<routes::ListRow> rows;
        for (size_t i = 0; i < r->ids.size(); ++i) {
          const auto& f = r->fields[i].elements;
          if (f.size() < 2) continue;
          rows.push_back({r->ids[i], f[0].str, domain::InstanceStatus::kPending, {}, f[1].AsInt()});
        }
        core.Reply(*call, 200, routes::LegacyListBody(rows));
      });
}

}  // namespace
}  // namespace lambda::shim

// SPEC §4.2: the legacy /backend routes (seed documents 000 and 002), mapped onto the core.
#include "app.h"
#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"
#include "routes/dialects.h"

namespace lambda::shim {
namespace {
constexpr std::string_view kNotFound = "The specified lambda instance doesn't exist.";

domain::Action ActionOf(routes::Route r) {
  if (r == routes::Route::kLegacyStart) return domain::Action::kStart;
  if (r == routes::Route::kLegacyStop) return domain::Action::kStop;
  return domain::Action::kDestroy;
}
}  // namespace

void App::Legacy(const std::shared_ptr<Call>& call) {
  using routes::Route;
  const Route route = call->match.route;
  if (route == Route::kLegacyAuthenticate) return Reply(*call, 200, routes::AuthenticateOk());
  if (route == Route::kLegacyList) return LegacyList(call);
  if (route == Route::kLegacyCreate) {
    return CreateInstance(call, [this, call](const Creation& c) {
      switch (c.kind) {
        case Creation::Kind::kInvalid: {
          std::string all;
          for (const auto& p : c.problems) all += (all.empty() ? "" : "; ") + p;
          return Reply(*call, 400, routes::LegacyError(400, all));
        }
        case Creation::Kind::kUnavailable:
          return ReplyUnavailable(*call, c.error);
        case Creation::Kind::kUnknown:
          return ReplyUnknown(*call, c.error);
        case Creation::Kind::kAccepted:
          return Reply(*call, 202, routes::LegacyCreated(c.id));
      }
    });
  }
  // The seed documents address instances by uuid and show integers too: both resolve.
  ResolveId(call->match.id, [this, call, route](Result<std::string> id) {
    if (!id) return ReplyUnavailable(*call, id.error().message);
    if (id->empty()) return Reply(*call, 404, routes::LegacyError(404, kNotFound));
    if (route == Route::kLegacyStatus || route == Route::kLegacyDetails) {
      return ReadInstance(call, *id,
                          [this, call, route](Result<std::optional<routes::InstanceRecord>> r) {
                            if (!r) return ReplyUnavailable(*call, r.error().message);
                            if (!*r) return Reply(*call, 404, routes::LegacyError(404, kNotFound));
                            Reply(*call, 200,
                                  route == Route::kLegacyStatus ? routes::LegacyStatusBody(**r)
                                                                : routes::LegacyDetailsBody(**r));
                          });
    }
    domain::Action action = ActionOf(route);
    AdmitAndPublish(call, *id, action, AllowedFrom(action), "running",
                    [this, call, action](const AdmissionOutcome& a) {
                      switch (a.kind) {
                        case AdmissionOutcome::Kind::kNotFound:
                          return Reply(*call, 404, routes::LegacyError(404, kNotFound));
                        case AdmissionOutcome::Kind::kRefused:
                          return Reply(
                              *call, 409,
                              routes::LegacyError(409, domain::Admit(action, a.status).message));
                        case AdmissionOutcome::Kind::kUnavailable:
                          return ReplyUnavailable(*call, a.error);
                        case AdmissionOutcome::Kind::kUnknown:
                          return ReplyUnknown(*call, a.error);
                        case AdmissionOutcome::Kind::kAccepted:
                          return Reply(*call, 202, routes::LegacySuccess());
                      }
                    });
  });
}

void App::LegacyList(const std::shared_ptr<Call>& call) {
  std::string limit_text, page_text;
  bool has_limit = call->req.QueryParam("limit", &limit_text);
  bool has_page = call->req.QueryParam("page", &page_text);
  int64_t start = 0, stop = -1;
  if (has_limit != has_page)
    return Reply(*call, 400, routes::LegacyError(400, "Missing parameter"));
  if (has_limit) {
    auto limit = util::ParseInt(limit_text);
    auto page = util::ParseInt(page_text);
    if (!limit || !page) return Reply(*call, 400, routes::LegacyError(400, "Bad parameter"));
    if (*limit <= 0 || *page <= 0) {
      return Reply(*call, 400, routes::LegacyError(400, "Zero or negative indexing not supported"));
    }
    start = (*page - 1) * *limit;
    stop = start + *limit - 1;
  }
  redis_->EvalSha(
      redis::scripts::List(), {},
      {config_.redis_prefix, call->tenant, std::to_string(start), std::to_string(stop)},
      [this, call](Result<redis::Value> r) {
        if (!r || r->is_error() || r->elements.empty()) {
          return ReplyUnavailable(*call, r ? r->str : r.error().message);
        }
        const auto& e = r->elements;
        std::vector<routes::ListRow> rows;
        for (size_t i = 1; i + 4 < e.size(); i += 5) {
          rows.push_back(
              {e[i].str, e[i + 1].str, domain::InstanceStatus::kPending, {}, e[i + 4].AsInt()});
        }
        Reply(*call, 200, routes::LegacyListBody(rows));
      });
}

}  // namespace lambda::shim

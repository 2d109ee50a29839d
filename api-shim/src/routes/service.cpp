// SPEC §4.1: the service API routes, mapped onto the core like every other dialect.
#include "core.h"
#include "lambda/domain/status.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"
#include "routes/body.h"
#include "routes/shape.h"

namespace lambda::shim {
namespace {

constexpr std::string_view kNotFound = "The specified lambda instance doesn't exist.";
constexpr std::string_view kBadAction =
    "action POST parameter can be used with start or stop value.";
constexpr std::string_view kBadFilter =
    "filter GET parameter can be used with values status or info.";
constexpr std::string_view kBadLimit = "limit value should be an integer greater or equal to zero.";
constexpr std::string_view kLimitTooLarge = "limit value should be at most 2147483647.";
constexpr std::string_view kOffsetTooLarge = "offset value should be at most 2147483647.";
static_assert(routes::kMaxListPosition == 2147483647);

void Error(Core& core, Call& call, int status, std::string_view detail) {
  core.Reply(call, status, routes::ErrorBody(status, detail));
}

void CreateRoute(Core& core, const std::shared_ptr<Call>& call) {
  core.Create(call, [&core, call](const Creation& c) {
    switch (c.kind) {
      case Creation::Kind::kInvalid:
        return core.Reply(*call, 400, routes::ValidationErrorBody(400, c.problems));
      case Creation::Kind::kUnavailable:
        return core.ReplyUnavailable(*call, c.error);
      case Creation::Kind::kUnknown:
        return core.ReplyUnknown(*call, c.error);
      case Creation::Kind::kOverQuota:
        return core.ReplyLimited(*call, QuotaRefusal(c.limit_kind, c.limit));
      case Creation::Kind::kAccepted:
        return core.Reply(*call, 202,
                          routes::CreateAccepted(c.id, core.BaseUrl(call->req) +
                                                           "/api/lambda-instances/" + c.id + "/"));
    }
  });
}

void Transition(Core& core, const std::shared_ptr<Call>& call, domain::Action action) {
  core.Admit(call, call->match.id, action, core.AllowedFrom(action), "running",
             [&core, call, action](const AdmissionOutcome& a) {
               switch (a.kind) {
                 case AdmissionOutcome::Kind::kNotFound:
                   return Error(core, *call, 404, kNotFound);
                 case AdmissionOutcome::Kind::kRefused:
                   return Error(core, *call, 409, domain::Admit(action, a.status).message);
                 case AdmissionOutcome::Kind::kOverQuota:
                   return core.ReplyLimited(*call, QuotaRefusal(a.limit_kind, a.limit));
                 case AdmissionOutcome::Kind::kUnavailable:
                   return core.ReplyUnavailable(*call, a.error);
                 case AdmissionOutcome::Kind::kUnknown:
                   return core.ReplyUnknown(*call, a.error);
                 case AdmissionOutcome::Kind::kAccepted:
                   return core.Reply(*call, 202,
                                     action == domain::Action::kDestroy ? routes::DestroyAccepted()
                                                                        : routes::ActionAccepted());
               }
             });
}

void List(Core& core, const std::shared_ptr<Call>& call) {
  std::string limit_text, offset_text;
  bool has_limit = call->req.QueryParam("limit", &limit_text);
  int64_t limit = -1, offset = 0;
  if (has_limit) {
    auto l = util::ParseInt(limit_text);
    if (!l || *l < 0) return Error(core, *call, 400, kBadLimit);
    if (*l > routes::kMaxListPosition) return Error(core, *call, 400, kLimitTooLarge);
    limit = *l;
    if (call->req.QueryParam("offset", &offset_text)) {
      auto o = util::ParseInt(offset_text);
      if (o && *o > routes::kMaxListPosition) return Error(core, *call, 400, kOffsetTooLarge);
      if (o && *o > 0) offset = *o;
    }
  }
  int64_t start = has_limit ? offset : 0;
  int64_t stop = has_limit ? offset + limit - 1 : -1;
  if (has_limit && limit == 0) stop = start - 1;  // an empty page still reports the count
  core.ReadPage(call->tenant, false, start, stop, {"name", "status", "failure_message", "seq"},
                [&core, call, has_limit, limit, offset](Result<IndexPage> r) {
                  if (!r) return core.ReplyUnavailable(*call, r.error().message);
                  int64_t total = r->total;
                  std::vector<routes::ListRow> rows;
                  for (size_t i = 0; i < r->ids.size(); ++i) {
                    const auto& f = r->fields[i].elements;
                    if (f.size() < 4) continue;
                    auto status = domain::FromCode(static_cast<int>(f[1].AsInt(2)))
                                      .value_or(domain::InstanceStatus::kPending);
                    rows.push_back({r->ids[i], f[0].str, status, f[2].str, f[3].AsInt()});
                  }
                  std::optional<routes::Pagination> page;
                  if (has_limit) {
                    page.emplace();
                    page->count = total;
                    std::string base = core.BaseUrl(call->req) +
                                       "/api/lambda-instances/?limit=" + std::to_string(limit);
                    if (limit > 0 && offset + limit < total)
                      page->next = base + "&offset=" + std::to_string(offset + limit);
                    if (offset > 0) {
                      page->previous =
                          base + "&offset=" + std::to_string(std::max<int64_t>(0, offset - limit));
                    }
                  }
                  core.Reply(*call, 200, routes::ListBody(rows, page));
                });
}

void Count(Core& core, const std::shared_ptr<Call>& call) {
  core.CountLive(call->tenant, [&core, call](Result<int64_t> n) {
    if (!n) return core.ReplyUnavailable(*call, n.error().message);
    core.Reply(*call, 200, routes::CountBody(*n));
  });
}

void Details(Core& core, const std::shared_ptr<Call>& call, bool status_only) {
  routes::DetailsFilter filter = routes::DetailsFilter::kAll;
  if (status_only) {
    filter = routes::DetailsFilter::kStatus;
  } else if (std::string f; call->req.QueryParam("filter", &f)) {
    if (f == "status") {
      filter = routes::DetailsFilter::kStatus;
    } else if (f == "info") {
      filter = routes::DetailsFilter::kInfo;
    } else {
      return Error(core, *call, 400, kBadFilter);
    }
  }
  core.Read(
      call, call->match.id,
      [&core, call, filter](Result<std::optional<routes::InstanceRecord>> r) {
        if (!r) return core.ReplyUnavailable(*call, r.error().message);
        if (!*r) return Error(core, *call, 404, kNotFound);
        core.Reply(*call, 200, routes::DetailsBody(**r, filter));
      },
      filter == routes::DetailsFilter::kStatus);
}

}  // namespace

namespace dialects {

void Service(Core& core, const std::shared_ptr<Call>& call) {
  using routes::Route;
  switch (call->match.route) {
    case Route::kAuthenticate:
      return core.Reply(*call, 200, routes::AuthenticateOk());
    case Route::kCreate:
      return CreateRoute(core, call);
    case Route::kList:
      return List(core, call);
    case Route::kCount:
      return Count(core, call);
    case Route::kDetails:
      return Details(core, call, false);
    case Route::kStatus:
      if (std::string w; call->req.QueryParam("wait_for", &w)) return WaitForStatus(core, call);
      return Details(core, call, true);
    case Route::kEvents:
      return Events(core, call);
    case Route::kTenantEvents:
      return TenantEvents(core, call);
    case Route::kBatch:
      return Batch(core, call);
    case Route::kAudit:
      return AuditTrail(core, call);
    case Route::kDestroy:
      return Transition(core, call, domain::Action::kDestroy);
    case Route::kAction: {
      auto decoded = routes::DecodeActionField(call->req);
      if (!decoded) return Error(core, *call, 400, decoded.error().message);
      const auto& action = *decoded;
      if (action == "start") return Transition(core, call, domain::Action::kStart);
      if (action == "stop") return Transition(core, call, domain::Action::kStop);
      if (action == "cancel") return Transition(core, call, domain::Action::kCancel);
      return Error(core, *call, 400, kBadAction);
    }
    default:
      return Error(core, *call, 404, "Not found.");
  }
}

}  // namespace dialects
}  // namespace lambda::shim

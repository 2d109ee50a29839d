// SPEC §4.1: the service API routes, mapped onto the core like every other dialect.
#include <cctype>

#include "core.h"
#include "lambda/domain/status.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/redis/tag_store.h"
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

/// A filtered list selects at most this many instances (a bound on one answer's work).
constexpr size_t kMaxSelected = 1000000;

std::string Encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ',') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

/// `rows` with each one's tags (one read in the tenant's slot), then answered.
void ReplyRows(Core& core, const std::shared_ptr<Call>& call, std::vector<routes::ListRow> rows,
               std::optional<routes::Pagination> page) {
  std::vector<std::string> ids;
  ids.reserve(rows.size());
  for (const auto& r : rows) ids.push_back(r.id);
  redis::ReadTags(core.store(), core.redis_prefix(), call->tenant, ids,
                  [&core, call, rows = std::move(rows),
                   page = std::move(page)](Result<std::vector<domain::Tags>> tags) mutable {
                    if (!tags) return core.ReplyUnavailable(*call, tags.error().message);
                    for (size_t i = 0; i < rows.size() && i < tags->size(); ++i) {
                      rows[i].tags = std::move((*tags)[i]);
                    }
                    core.Reply(*call, 200, routes::ListBody(rows, page));
                  });
}

std::optional<routes::Pagination> Paginate(Core& core, const Call& call, bool has_limit,
                                           int64_t limit, int64_t offset, int64_t total,
                                           const std::string& filters) {
  if (!has_limit) return std::nullopt;
  routes::Pagination page;
  page.count = total;
  std::string base = core.BaseUrl(call.req) + "/api/lambda-instances/?" + filters +
                     "limit=" + std::to_string(limit);
  if (limit > 0 && offset + limit < total)
    page.next = base + "&offset=" + std::to_string(offset + limit);
  if (offset > 0) {
    page.previous = base + "&offset=" + std::to_string(std::max<int64_t>(0, offset - limit));
  }
  return page;
}

routes::ListRow Row(const std::string& id, const std::vector<redis::Value>& f) {
  auto status =
      domain::FromCode(static_cast<int>(f[1].AsInt(2))).value_or(domain::InstanceStatus::kPending);
  return {id, f[0].str, status, f[2].str, f[3].AsInt(), std::nullopt};
}

/// SPEC §4.5: `?tag=k:v` (repeated) and `?status=S1,S2`, from the tenant's tag indexes
/// (redis/tag_store.h): every match is selected, counted, and the page read.
void FilteredList(Core& core, const std::shared_ptr<Call>& call, const domain::Selector& sel,
                  bool has_limit, int64_t limit, int64_t offset, std::string filters) {
  redis::SelectAll(core.store(), core.redis_prefix(), call->tenant, sel, kMaxSelected,
                   [&core, call, has_limit, limit, offset,
                    filters = std::move(filters)](Result<std::vector<std::string>> ids) {
                     if (!ids) {
                       if (ids.error().code == Code::kInvalidArgument) {
                         return Error(core, *call, 400, ids.error().message);
                       }
                       return core.ReplyUnavailable(*call, ids.error().message);
                     }
                     const auto total = static_cast<int64_t>(ids->size());
                     std::vector<std::string> slice;
                     const int64_t from = has_limit ? std::min(offset, total) : 0;
                     const int64_t to = has_limit ? std::min(total, offset + limit) : total;
                     for (int64_t i = from; i < to; ++i)
                       slice.push_back((*ids)[static_cast<size_t>(i)]);
                     auto page = Paginate(core, *call, has_limit, limit, offset, total, filters);
                     core.ReadEach(slice, {"name", "status", "failure_message", "seq"},
                                   [&core, call, slice, page](Result<std::vector<redis::Value>> r) {
                                     if (!r) return core.ReplyUnavailable(*call, r.error().message);
                                     std::vector<routes::ListRow> rows;
                                     for (size_t i = 0; i < r->size(); ++i) {
                                       const auto& f = (*r)[i].elements;
                                       if (f.size() < 4 || f[0].is_nil())
                                         continue;  // gone (an undone create)
                                       rows.push_back(Row(slice[i], f));
                                     }
                                     ReplyRows(core, call, std::move(rows), page);
                                   });
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
  auto tag_params = call->req.QueryParams("tag");
  std::optional<std::string> status_param;
  if (std::string s; call->req.QueryParam("status", &s)) status_param = s;
  if (!tag_params.empty() || status_param) {
    auto sel = domain::SelectorFromQuery(tag_params, status_param);
    if (!sel) return Error(core, *call, 400, sel.error().message);
    std::string filters;
    for (const auto& t : tag_params) filters += "tag=" + Encode(t) + "&";
    if (status_param) filters += "status=" + Encode(*status_param) + "&";
    return FilteredList(core, call, *sel, has_limit, limit, offset, std::move(filters));
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
                    rows.push_back(Row(r->ids[i], f));
                  }
                  ReplyRows(core, call, std::move(rows),
                            Paginate(core, *call, has_limit, limit, offset, total, ""));
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
        if (filter != routes::DetailsFilter::kAll) {
          return core.Reply(*call, 200, routes::DetailsBody(**r, filter));
        }
        redis::ReadTags(
            core.store(), core.redis_prefix(), call->tenant, {call->match.id},
            [&core, call, rec = std::move(**r)](Result<std::vector<domain::Tags>> tags) mutable {
              if (!tags) return core.ReplyUnavailable(*call, tags.error().message);
              rec.tags = tags->empty() ? domain::Tags{} : std::move(tags->front());
              core.Reply(*call, 200, routes::DetailsBody(rec, routes::DetailsFilter::kAll));
            });
      },
      filter == routes::DetailsFilter::kStatus);
}

/// SPEC §4.5: `PUT …/{id}/tags/` replaces the tags; another tenant's instance reads as missing.
void ReplaceTagsRoute(Core& core, const std::shared_ptr<Call>& call) {
  auto tags = routes::DecodeTagsBody(call->req.body);
  if (!tags) {
    return core.Reply(*call, 400, routes::ValidationErrorBody(400, {tags.error().message}));
  }
  core.Read(
      call, call->match.id,
      [&core, call, tags = std::move(*tags)](Result<std::optional<routes::InstanceRecord>> r) {
        if (!r) return core.ReplyUnavailable(*call, r.error().message);
        if (!*r) return Error(core, *call, 404, kNotFound);
        redis::ReplaceTags(core.store(), core.redis_prefix(), call->tenant, call->match.id, tags,
                           [&core, call, tags](Result<bool> done) {
                             if (!done) return core.ReplyUnavailable(*call, done.error().message);
                             if (!*done) return Error(core, *call, 404, kNotFound);
                             core.Reply(*call, 200, routes::TagsBody(call->match.id, tags));
                           });
      },
      true);
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
    case Route::kTags:
      return ReplaceTagsRoute(core, call);
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

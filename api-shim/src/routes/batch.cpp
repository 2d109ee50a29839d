// SPEC §4.4: one action on many instances. Each id is admitted on its own (answered with what it
// would have had alone), or, with "atomic": true, all or none in one script.
#include <rapidjson/stringbuffer.h>

#include <functional>

#include "core.h"
#include "lambda/json/json.h"
#include "routes/body.h"
#include "routes/shape.h"

namespace lambda::shim {
namespace {

constexpr size_t kMaxBatch = 1000;
constexpr std::string_view kNotFound = "The specified lambda instance doesn't exist.";

struct ItemResult {
  int status = 202;
  std::string detail;  ///< empty when accepted
};

std::string BatchBodyJson(const std::vector<std::string>& ids,
                          const std::vector<ItemResult>& results) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  size_t accepted = 0;
  for (const auto& r : results) accepted += r.status == 202 ? 1 : 0;
  w.StartObject();
  json::Key(w, "status");
  w.StartObject();
  json::KV(w, "code", 202);
  json::KV(w, "short_description", "Batch processed");
  w.EndObject();
  json::KV(w, "accepted", static_cast<int64_t>(accepted));
  json::KV(w, "refused", static_cast<int64_t>(results.size() - accepted));
  json::Key(w, "results");
  w.StartArray();
  for (size_t i = 0; i < ids.size(); ++i) {
    w.StartObject();
    json::KV(w, "id", ids[i]);
    json::KV(w, "status", results[i].status);
    if (results[i].status == 202) {
      json::KV(w, "result", "accepted");
    } else {
      json::KV(w, "detail", results[i].detail);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {sb.GetString(), sb.GetSize()};
}

/// `error_id`: the id under which an item's operator-side error (Redis's or the broker's own
/// words, SPEC §8) was logged; the tenant reads the id, not the text.
ItemResult FromOutcome(domain::Action action, const AdmissionOutcome& a,
                       const std::function<std::string(const std::string&)>& error_id) {
  switch (a.kind) {
    case AdmissionOutcome::Kind::kAccepted:
      return {202, {}};
    case AdmissionOutcome::Kind::kNotFound:
      return {404, std::string(kNotFound)};
    case AdmissionOutcome::Kind::kRefused:
      return {409, domain::Admit(action, a.status).message};
    case AdmissionOutcome::Kind::kOverQuota:
      return {429, LimitText(QuotaRefusal(a.limit_kind, a.limit))};
    case AdmissionOutcome::Kind::kUnavailable:
      return {503, "Service temporarily unavailable; retry shortly (error id " + error_id(a.error) +
                       ")."};
    case AdmissionOutcome::Kind::kUnknown:
      return {504, "The outcome of this action is unknown (error id " + error_id(a.error) +
                       "); read the instance's status before retrying."};
  }
  return {500, "internal error"};
}

void Each(Core& core, const std::shared_ptr<Call>& call, domain::Action action,
          std::vector<std::string> ids) {
  struct State {
    std::vector<std::string> ids;
    std::vector<AdmissionOutcome> outcomes;
    size_t left = 0;
  };
  auto state = std::make_shared<State>();
  state->ids = std::move(ids);
  state->outcomes.resize(state->ids.size());
  state->left = state->ids.size();
  for (size_t i = 0; i < state->ids.size(); ++i) {
    core.Admit(call, state->ids[i], action, core.AllowedFrom(action), "running",
               [&core, call, state, action, i](const AdmissionOutcome& a) {
                 state->outcomes[i] = a;
                 if (--state->left != 0) return;
                 bool all_unavailable = true;
                 for (const auto& o : state->outcomes) {
                   all_unavailable &= o.kind == AdmissionOutcome::Kind::kUnavailable;
                 }
                 // Nothing changed anywhere: the whole batch is a 503 to retry.
                 if (all_unavailable) {
                   return core.ReplyUnavailable(*call, state->outcomes.front().error);
                 }
                 // One error id for the batch: its first operator-side error is logged once.
                 std::string error_id;
                 auto note = [&core, &call, &error_id](const std::string& error) {
                   if (error_id.empty()) error_id = core.NoteError(*call, error);
                   return error_id;
                 };
                 std::vector<ItemResult> results;
                 results.reserve(state->outcomes.size());
                 for (const auto& o : state->outcomes) {
                   results.push_back(FromOutcome(action, o, note));
                 }
                 core.Reply(*call, 202, BatchBodyJson(state->ids, results));
               });
  }
}

void Atomic(Core& core, const std::shared_ptr<Call>& call, domain::Action action,
            std::vector<std::string> ids) {
  auto shared_ids = std::make_shared<std::vector<std::string>>(std::move(ids));
  core.AdmitMany(call, *shared_ids, action, core.AllowedFrom(action),
                 [&core, call, action, shared_ids](const AdmissionOutcome& a) {
                   switch (a.kind) {
                     case AdmissionOutcome::Kind::kAccepted:
                       return core.Reply(
                           *call, 202,
                           BatchBodyJson(*shared_ids, std::vector<ItemResult>(shared_ids->size())));
                     case AdmissionOutcome::Kind::kOverQuota:
                       return core.ReplyLimited(*call, QuotaRefusal(a.limit_kind, a.limit));
                     case AdmissionOutcome::Kind::kUnavailable:
                       return core.ReplyUnavailable(*call, a.error);
                     case AdmissionOutcome::Kind::kUnknown:
                       return core.ReplyUnknown(*call, a.error);
                     default: {
                       // None admitted: the answer names the instance that stopped the batch.
                       auto item = FromOutcome(action, a, [&core, &call](const std::string& e) {
                         return core.NoteError(*call, e);
                       });
                       return core.Reply(*call, item.status,
                                         routes::ErrorBody(item.status, a.id + ": " + item.detail));
                     }
                   }
                 });
}

}  // namespace

namespace dialects {

void Batch(Core& core, const std::shared_ptr<Call>& call) {
  auto body = routes::DecodeBatchBody(call->req.body, kMaxBatch);
  if (!body) {
    return core.Reply(*call, 400, routes::ErrorBody(400, body.error().message));
  }
  auto action = *domain::ParseAction(body->action);
  if (body->atomic) return Atomic(core, call, action, std::move(body->ids));
  Each(core, call, action, std::move(body->ids));
}

}  // namespace dialects
}  // namespace lambda::shim

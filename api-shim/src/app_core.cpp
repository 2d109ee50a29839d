// App's side of the Core interface the dialects call: creations and admissions (each an
// Admission step object over the admission store), and the reads of instances, pages,
// histories and the audit trail.
#include <algorithm>
#include <csignal>
#include <random>

#include "app.h"
#include "audit/trail.h"
#include "auth/scope.h"
#include "auth/zc2.h"
#include "lambda/crypto/sealed.h"
#include "lambda/domain/command.h"
#include "lambda/domain/dialect_rules.h"
#include "lambda/domain/tags.h"
#include "lambda/json/json.h"
#include "lambda/log/log.h"
#include "lambda/redis/fan_out.h"
#include "lambda/redis/keys.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"
#include "lambda/uv/handle.h"
#include "routes/body.h"
#include "routes/dialects.h"
#include "routes/error_shape.h"
#include "routes/shape.h"
#include "ui.h"

namespace lambda::shim {
namespace {

std::vector<std::pair<std::string, std::string>> Pairs(const redis::Value& v) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i + 1 < v.elements.size(); i += 2) {
    out.emplace_back(v.elements[i].str, v.elements[i + 1].str);
  }
  return out;
}

}  // namespace

void App::Create(const std::shared_ptr<Call>& call, const std::function<void(Creation)>& done) {
  json::Document doc;
  if (auto st = json::Parse(call->req.body, &doc); !st) {
    return done(Creation{Creation::Kind::kInvalid, {}, {st.error().message}, {}});
  }
  if (auto problems = create_schema_.Validate(doc); !problems.empty()) {
    return done(Creation{Creation::Kind::kInvalid, {}, std::move(problems), {}});
  }
  std::vector<std::string> control;
  for (const char* field : {"instance_name", "master_name", "project_name", "public_key_name"}) {
    auto it = doc.FindMember(field);
    if (it != doc.MemberEnd() && it->value.IsString() &&
        routes::HasControlCharacter({it->value.GetString(), it->value.GetStringLength()}))
      control.push_back(std::string(field) + ": must not contain control characters");
  }
  if (!control.empty()) return done(Creation{Creation::Kind::kInvalid, {}, std::move(control), {}});
  domain::Tags tags;
  if (auto it = doc.FindMember("tags"); it != doc.MemberEnd()) {
    auto parsed = domain::ParseTags(it->value);
    if (!parsed) return done(Creation{Creation::Kind::kInvalid, {}, {parsed.error().message}, {}});
    tags = std::move(*parsed);
  }
  // Failure injection is the simulated cloud's: a real provider must never be asked to fake one.
  if (config_.provider != "sim" && doc.HasMember("simulate")) {
    return done(Creation{
        Creation::Kind::kInvalid, {}, {"simulate is only accepted by the simulated provider"}, {}});
  }
  AdmitPlan plan;
  plan.kind = AdmitPlan::Kind::kCreate;
  plan.action = domain::Action::kCreate;
  plan.ids = {util::NewUuid()};
  plan.tenant = call->tenant;
  plan.request_id = call->request_id;
  plan.audit = call->audit;
  plan.name = std::string(doc["instance_name"].GetString(), doc["instance_name"].GetStringLength());
  plan.max_instances = call->limits.max_instances;
  plan.tags = std::move(tags);
  doc.RemoveMember("tags");  // kept beside the instance (SPEC §4.5), not in its spec
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  doc.Accept(w);
  plan.info_json = std::string(json::View(sb));
  auto create_done = [done](const AdmissionOutcome& o) {
    switch (o.kind) {
      case AdmissionOutcome::Kind::kAccepted:
        return done(Creation{Creation::Kind::kAccepted, o.id, {}, {}});
      case AdmissionOutcome::Kind::kUnknown:
        return done(Creation{Creation::Kind::kUnknown, o.id, {}, o.error});
      case AdmissionOutcome::Kind::kOverQuota:
        return done(Creation{Creation::Kind::kOverQuota, {}, {}, {}, o.limit, o.limit_kind});
      default:
        return done(Creation{Creation::Kind::kUnavailable, {}, {}, o.error});
    }
  };
  if (!MayAdmit(*call, 1, create_done)) return;
  Admission::Start(admission_ports_, std::move(plan),
                   [this, call, create_done](const AdmissionOutcome& o) {
                     Admitted(call->tenant, o, {o.id});
                     Audited(*call, domain::Action::kCreate, o, {o.id});
                     create_done(o);
                   });
}

void App::Admit(const std::shared_ptr<Call>& call, const std::string& id, domain::Action action,
                const std::string& allowed, const std::string& mode,
                const std::function<void(AdmissionOutcome)>& done) {
  if (!util::IsUuid(id))
    return done(AdmissionOutcome{AdmissionOutcome::Kind::kNotFound, {}, id, {}});
  AdmitPlan plan;
  plan.kind = AdmitPlan::Kind::kOne;
  plan.action = action;
  plan.ids = {id};
  plan.tenant = call->tenant;
  plan.request_id = call->request_id;
  plan.allowed = allowed;
  plan.mode = mode;
  plan.audit = call->audit;
  if (!MayAdmit(*call, 1, done)) return;
  Admission::Start(admission_ports_, std::move(plan),
                   [this, call, action, id, done](const AdmissionOutcome& o) {
                     Admitted(call->tenant, o, {id});
                     Audited(*call, action, o, {id});
                     done(o);
                   });
}

void App::AdmitMany(const std::shared_ptr<Call>& call, const std::vector<std::string>& ids,
                    domain::Action action, const std::string& allowed,
                    const std::function<void(AdmissionOutcome)>& done) {
  for (const auto& id : ids) {
    if (!util::IsUuid(id))
      return done(AdmissionOutcome{AdmissionOutcome::Kind::kNotFound, {}, id, {}});
  }
  AdmitPlan plan;
  plan.kind = AdmitPlan::Kind::kMany;
  plan.action = action;
  plan.ids = ids;
  plan.tenant = call->tenant;
  plan.request_id = call->request_id;
  plan.allowed = allowed;
  plan.audit = call->audit;
  if (!MayAdmit(*call, ids.size(), done)) return;
  Admission::Start(admission_ports_, std::move(plan),
                   [this, call, action, ids, done](const AdmissionOutcome& o) {
                     Admitted(call->tenant, o, ids);
                     Audited(*call, action, o, ids);
                     done(o);
                   });
}

bool App::MayAdmit(const Call& call, size_t n, const std::function<void(AdmissionOutcome)>& done) {
  const auto max = static_cast<size_t>(std::max<int64_t>(0, call.limits.max_inflight));
  if (inflight_.Count(call.tenant) + n <= max) return true;
  AdmissionOutcome refused{AdmissionOutcome::Kind::kOverQuota, {}, {}, {}, call.limits.max_inflight,
                           LimitRefusal::Kind::kInflight};
  done(refused);
  return false;
}

void App::Admitted(const std::string& tenant, const AdmissionOutcome& o,
                   const std::vector<std::string>& ids) {
  if (o.kind != AdmissionOutcome::Kind::kAccepted) return;
  for (const auto& id : ids) inflight_.OnStatus(tenant, id, false);
}

void App::Audited(const Call& call, domain::Action action, const AdmissionOutcome& o,
                  const std::vector<std::string>& ids) {
  if (o.kind != AdmissionOutcome::Kind::kAccepted) return;
  // After the admission (its history entry holds the same fields atomically): not awaited, and a
  // shim that dies in between leaves the action out of the trail, never a refused one in it.
  const int64_t now = util::NowMs();
  for (const auto& id : ids) {
    redis_->Command(audit::RecordCommand(config_.redis_prefix, call.tenant, call.audit,
                                         domain::ActionName(action), id, call.request_id, now),
                    [](const Result<redis::Value>&) {});
  }
}

void App::ReadAudit(const std::string& tenant, const std::string& start, int64_t count,
                    redis::Callback done) {
  redis_->Command({"XRANGE", redis::keys::TenantAudit(config_.redis_prefix, tenant), start, "+",
                   "COUNT", std::to_string(count)},
                  std::move(done));
}

void App::MaybeCrashBeforePublish(const std::string& instance_id) const {
  if (config_.fault_crash_after_admit_permille <= 0) return;
  thread_local std::mt19937 rng{std::random_device{}()};
  if (static_cast<int>(rng() % 1000) < config_.fault_crash_after_admit_permille) {
    log::Warn("fault injection: dying between admission and publish",
              {{"instance_id", instance_id}});
    raise(SIGKILL);
  }
}

void App::Read(const std::shared_ptr<Call>& call, const std::string& id,
               const std::function<void(Result<std::optional<routes::InstanceRecord>>)>& done,
               bool status_only) {
  if (!util::IsUuid(id)) return done(std::optional<routes::InstanceRecord>{});
  // A status read fetches five small fields, not the stored spec and servers (reads are hot).
  static const std::vector<std::string> kStatusFields{"id", "name", "owner", "status",
                                                      "failure_message"};
  std::vector<std::string> argv{status_only ? "HMGET" : "HGETALL",
                                redis::keys::Instance(config_.redis_prefix, id)};
  if (status_only) argv.insert(argv.end(), kStatusFields.begin(), kStatusFields.end());
  redis_->Command(argv, [call, done, status_only](Result<redis::Value> r) {
    if (!r || r->is_error()) return done(Error{Code::kUnavailable, r ? r->str : r.error().message});
    std::vector<std::pair<std::string, std::string>> fields;
    if (status_only) {
      for (size_t i = 0; i < kStatusFields.size() && i < r->elements.size(); ++i) {
        if (!r->elements[i].is_nil()) fields.emplace_back(kStatusFields[i], r->elements[i].str);
      }
    } else {
      fields = Pairs(*r);
    }
    auto rec = routes::RecordFromHash(fields);
    // Another tenant's instance reads exactly as a missing one.
    if (!rec || rec->owner != call->tenant) return done(std::optional<routes::InstanceRecord>{});
    done(std::move(rec));
  });
}

void App::ResolveId(const std::string& raw, const std::function<void(Result<std::string>)>& done) {
  if (util::IsUuid(raw)) return done(raw);
  auto seq = util::ParseInt(raw);
  if (!seq || *seq <= 0) return done(std::string());
  redis_->Command({"HGET", redis::keys::SeqMap(config_.redis_prefix), raw},
                  [done](Result<redis::Value> r) {
                    if (!r || r->is_error())
                      return done(Error{Code::kUnavailable, r ? r->str : r.error().message});
                    done(r->is_nil() ? std::string() : r->str);
                  });
}

void App::CountLive(const std::string& tenant, const std::function<void(Result<int64_t>)>& done) {
  redis_->Command({"ZCARD", redis::keys::TenantLive(config_.redis_prefix, tenant)},
                  [done](Result<redis::Value> r) {
                    if (!r || r->is_error()) {
                      return done(Error{Code::kUnavailable, r ? r->str : r.error().message});
                    }
                    done(r->AsInt());
                  });
}

void App::RunScript(const redis::Script& script, std::vector<std::string> keys,
                    std::vector<std::string> argv, redis::Callback done) {
  redis_->EvalSha(script, keys, std::move(argv), std::move(done));
}

void App::ReadHistory(const std::string& id, bool reverse, std::vector<std::string> range,
                      redis::Callback done) {
  if (!util::IsUuid(id)) return done(redis::Value{redis::Value::Type::kArray, {}, 0, {}});
  std::vector<std::string> argv{reverse ? "XREVRANGE" : "XRANGE",
                                redis::keys::History(config_.redis_prefix, id)};
  argv.insert(argv.end(), std::make_move_iterator(range.begin()),
              std::make_move_iterator(range.end()));
  redis_->Command(argv, std::move(done));
}

void App::ReadPage(const std::string& tenant, bool live, int64_t start, int64_t stop,
                   std::vector<std::string> fields, std::function<void(Result<IndexPage>)> done) {
  // The index is in the tenant's slot and each instance in its own: the page, then its rows.
  const redis::args::Page page{config_.redis_prefix, tenant, live, start, stop};
  redis_->EvalSha(
      redis::scripts::Page(), page.Keys(), page.Argv(),
      [this, fields = std::move(fields), done = std::move(done)](Result<redis::Value> r) {
        if (!r || r->is_error() || r->elements.empty()) {
          return done(Error{Code::kUnavailable, r ? r->str : r.error().message});
        }
        auto out = std::make_shared<IndexPage>();
        out->total = r->elements[0].AsInt();
        for (size_t i = 1; i < r->elements.size(); ++i) out->ids.push_back(r->elements[i].str);
        ReadEach(out->ids, fields, [out, done](Result<std::vector<redis::Value>> rows) {
          if (!rows) return done(rows.error());
          IndexPage kept{out->total, {}, {}};
          for (size_t i = 0; i < rows->size(); ++i) {
            const auto& f = (*rows)[i].elements;
            bool gone =
                std::all_of(f.begin(), f.end(), [](const redis::Value& v) { return v.is_nil(); });
            if (gone) continue;
            kept.ids.push_back(out->ids[i]);
            kept.fields.push_back(std::move((*rows)[i]));
          }
          done(std::move(kept));
        });
      });
}

void App::ReadEach(std::vector<std::string> ids, std::vector<std::string> fields,
                   std::function<void(Result<std::vector<redis::Value>>)> done) {
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const auto& id : ids) keys.push_back(redis::keys::Instance(config_.redis_prefix, id));
  redis::HmgetEach(*redis_, keys, fields, std::move(done));
}

}  // namespace lambda::shim

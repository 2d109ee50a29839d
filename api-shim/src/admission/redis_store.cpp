#include "admission/redis_store.h"

#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"

namespace lambda::shim {

Result<AdmitReply> RedisAdmissionStore::ParseAdmit(AdmitPlan::Kind kind,
                                                   const std::vector<std::string>& ids,
                                                   const redis::Value& v) {
  const Error bad{Code::kUnavailable, "bad admission reply"};
  const auto& e = v.elements;
  const std::string outcome = e.empty() ? "" : e[0].str;
  AdmitReply reply;
  auto status_of = [](const redis::Value& code) {
    return domain::FromCode(static_cast<int>(code.AsInt()))
        .value_or(domain::InstanceStatus::kPending);
  };
  switch (kind) {
    case AdmitPlan::Kind::kCreate:
      // {'ok'}, or anything else: the new id collided with an existing one.
      if (outcome != "ok") reply.kind = AdmitReply::Kind::kCollision;
      if (outcome == "ok") reply.admitted.emplace_back(ids.front(), 1);
      return reply;
    case AdmitPlan::Kind::kOne:
      // {'ok', gen} | {'notfound'} | {'refused', status}
      if (outcome == "notfound")
        return AdmitReply{AdmitReply::Kind::kNotFound, ids.front(), {}, {}};
      if (outcome == "refused" && e.size() > 1) {
        return AdmitReply{AdmitReply::Kind::kRefused, ids.front(), status_of(e[1]), {}};
      }
      if (outcome != "ok" || e.size() < 2) return bad;
      reply.admitted.emplace_back(ids.front(), e[1].AsInt());
      return reply;
    case AdmitPlan::Kind::kMany:
      // {'ok', gen1, prev1, ...} | {'notfound', id} | {'refused', id, status}
      if (outcome == "notfound" && e.size() > 1) {
        return AdmitReply{AdmitReply::Kind::kNotFound, e[1].str, {}, {}};
      }
      if (outcome == "refused" && e.size() > 2) {
        return AdmitReply{AdmitReply::Kind::kRefused, e[1].str, status_of(e[2]), {}};
      }
      if (outcome != "ok" || e.size() != 1 + 2 * ids.size()) return bad;
      for (size_t i = 0; i < ids.size(); ++i)
        reply.admitted.emplace_back(ids[i], e[1 + 2 * i].AsInt());
      return reply;
  }
  return bad;
}

SettleReply RedisAdmissionStore::ParseSettle(const redis::Value& v) {
  SettleReply s;
  s.total = v.elements.size();
  for (const auto& e : v.elements) {
    if (e.str == "undone") ++s.undone;
    if (e.str == "confirmed") ++s.confirmed;
  }
  return s;
}

void RedisAdmissionStore::Admit(const AdmitPlan& plan, const std::string& token,
                                std::function<void(Result<AdmitReply>)> done) {
  const int64_t now = util::NowMs();
  const std::string now_text = util::Rfc3339(now);
  const int transitional = domain::CodeOf(domain::TransitionalStatus(plan.action));
  const std::string action(domain::ActionName(plan.action));
  const redis::Script* script = nullptr;
  std::vector<std::string> argv;
  switch (plan.kind) {
    case AdmitPlan::Kind::kOne:
      script = &redis::scripts::Admit();
      argv = redis::args::Admit{prefix_,      plan.ids.front(), plan.tenant,     action,
                                transitional, plan.allowed,     plan.request_id, now,
                                now_text,     history_max_,     plan.mode,       token}
                 .Argv();
      break;
    case AdmitPlan::Kind::kMany:
      script = &redis::scripts::AdmitMany();
      argv = redis::args::AdmitMany{prefix_,      plan.tenant,     action,  transitional,
                                    plan.allowed, plan.request_id, now,     now_text,
                                    history_max_, token,           plan.ids}
                 .Argv();
      break;
    case AdmitPlan::Kind::kCreate:
      script = &redis::scripts::AdmitCreate();
      argv = redis::args::AdmitCreate{prefix_,   plan.ids.front(), plan.tenant,
                                      plan.name, plan.info_json,   plan.request_id,
                                      now,       now_text,         history_max_,
                                      token}
                 .Argv();
      break;
  }
  redis_->EvalSha(
      *script, {}, std::move(argv),
      [kind = plan.kind, ids = plan.ids, done = std::move(done)](Result<redis::Value> r) {
        if (!r) return done(r.error());
        if (r->is_error()) return done(Error{Code::kUnavailable, r->str});
        done(ParseAdmit(kind, ids, *r));
      });
}

void RedisAdmissionStore::Settle(bool confirm, const std::string& token,
                                 const redis::args::IdGens& id_gens, const std::string& why,
                                 std::function<void(Result<SettleReply>)> done) {
  std::vector<std::string> argv;
  if (confirm) {
    argv = redis::args::Confirm{prefix_, token, id_gens}.Argv();
  } else {
    const int64_t now = util::NowMs();
    argv = redis::args::UndoAdmission{prefix_,      token, now,    util::Rfc3339(now),
                                      history_max_, why,   id_gens}
               .Argv();
  }
  redis_->EvalSha(confirm ? redis::scripts::Confirm() : redis::scripts::UndoAdmission(), {},
                  std::move(argv), [done = std::move(done)](Result<redis::Value> r) {
                    if (!r) return done(r.error());
                    if (r->is_error()) return done(Error{Code::kUnavailable, r->str});
                    done(ParseSettle(*r));
                  });
}

}  // namespace lambda::shim

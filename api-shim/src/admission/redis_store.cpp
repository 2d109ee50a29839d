#include "admission/redis_store.h"

#include <memory>
#include <optional>

#include "lambda/redis/fan_out.h"
#include "lambda/redis/keys.h"
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
      // Never one script's answer: a batch is admitted per instance (AdmitMany below).
      return bad;
  }
  return bad;
}

SettleReply RedisAdmissionStore::ParseSettle(const redis::Value& v) {
  SettleReply s;
  s.total = v.elements.size();
  for (const auto& e : v.elements) {
    // An undone create answers {'undone', owner, seq}.
    const std::string& outcome = e.type == redis::Value::Type::kArray && !e.elements.empty()
                                     ? e.elements.front().str
                                     : e.str;
    if (outcome == "undone") ++s.undone;
    if (outcome == "confirmed") ++s.confirmed;
  }
  return s;
}

namespace {

/// One admit.lua answer as the reply of a one-instance admission.
Result<AdmitReply> ParseOne(const std::string& id, const Result<redis::Value>& r) {
  if (!r) return r.error();
  if (r->is_error()) return Error{Code::kUnavailable, r->str};
  return RedisAdmissionStore::ParseAdmit(AdmitPlan::Kind::kOne, {id}, *r);
}

/// admit_cancel.lua's ",from:to," pairs, from the domain table (domain::CancelTo).
const std::string& CancelMoves() {
  static const std::string moves = [] {
    std::string m = ",";
    for (int code = 0; code < domain::kStatusCount; ++code) {
      auto from = domain::FromCode(code);
      auto to = from ? domain::CancelTo(*from) : std::nullopt;
      if (to) m += std::to_string(code) + ":" + std::to_string(domain::CodeOf(*to)) + ",";
    }
    return m;
  }();
  return moves;
}

/// index_create.lua's {'quota', max}: the tenant's quota of live instances, met.
std::optional<int64_t> OverQuota(const redis::Value& v) {
  if (v.elements.size() != 2 || v.elements[0].str != "quota") return std::nullopt;
  return v.elements[1].AsInt();
}

}  // namespace

void RedisAdmissionStore::Admit(const AdmitPlan& plan, const std::string& token,
                                std::function<void(Result<AdmitReply>)> admitted) {
  auto done = [this, admitted = std::move(admitted)](Result<AdmitReply> r) {
    Replicated(std::move(r), admitted);
  };
  switch (plan.kind) {
    case AdmitPlan::Kind::kOne:
      return AdmitOne(plan, plan.ids.front(), token,
                      [id = plan.ids.front(), done = std::move(done)](
                          const Result<redis::Value>& r) { done(ParseOne(id, r)); });
    case AdmitPlan::Kind::kMany:
      return AdmitMany(plan, token, std::move(done));
    case AdmitPlan::Kind::kCreate:
      return AdmitCreate(plan, token, std::move(done));
  }
}

void RedisAdmissionStore::Replicated(Result<AdmitReply> reply,
                                     std::function<void(Result<AdmitReply>)> done) {
  if (wait_replicas_ <= 0 || !reply || reply->kind != AdmitReply::Kind::kAdmitted) {
    return done(std::move(reply));
  }
  const auto admitted = reply->admitted;
  redis::All(
      admitted.size(),
      [this, &admitted](size_t i, redis::Callback cb) {
        redis_->WaitReplicas(redis::keys::Instance(prefix_, admitted[i].first), wait_replicas_,
                             wait_timeout_ms_, std::move(cb));
      },
      [this, reply = std::move(reply),
       done = std::move(done)](const std::vector<Result<redis::Value>>& acks) mutable {
        for (const auto& a : acks) {
          if (a && !a->is_error() && a->AsInt() >= wait_replicas_) continue;
          // On the master only: a failover now could lose it after a 202. As a lost reply it is
          // undone by its token and answered 503.
          return done(Error{Code::kTimeout, "admission not on " + std::to_string(wait_replicas_) +
                                                " replica(s) within " +
                                                std::to_string(wait_timeout_ms_) + " ms"});
        }
        done(std::move(reply));
      });
}

void RedisAdmissionStore::AdmitOne(const AdmitPlan& plan, const std::string& id,
                                   const std::string& token, redis::Callback done) {
  const int64_t now = util::NowMs();
  if (plan.action == domain::Action::kCancel) {
    // Where a cancel goes depends on where the instance is: admit_cancel.lua decides.
    const redis::args::AdmitCancel c{prefix_,         id,        plan.tenant,        CancelMoves(),
                                     plan.request_id, now,       util::Rfc3339(now), history_max_,
                                     token,           plan.audit};
    return redis_->EvalSha(redis::scripts::AdmitCancel(), c.Keys(), c.Argv(), std::move(done));
  }
  const redis::args::Admit a{prefix_,
                             id,
                             plan.tenant,
                             std::string(domain::ActionName(plan.action)),
                             domain::CodeOf(domain::TransitionalStatus(plan.action)),
                             plan.allowed,
                             plan.request_id,
                             now,
                             util::Rfc3339(now),
                             history_max_,
                             plan.mode,
                             token,
                             plan.audit};
  redis_->EvalSha(redis::scripts::Admit(), a.Keys(), a.Argv(), std::move(done));
}

void RedisAdmissionStore::AdmitMany(const AdmitPlan& plan, const std::string& token,
                                    std::function<void(Result<AdmitReply>)> done) {
  // The instances live in different slots (a cluster spreads them over nodes), so no one script
  // sees them all. Every one is checked first (read only: a refused batch changes nothing),
  // then each is admitted on its own, all at once; one refused in between (a race with another
  // admission) has those admitted undone by the token before the refusal is answered.
  std::vector<std::string> keys;
  keys.reserve(plan.ids.size());
  for (const auto& id : plan.ids) keys.push_back(redis::keys::Instance(prefix_, id));
  redis::HmgetEach(
      *redis_, keys, {"owner", "status"},
      [this, plan, token, done = std::move(done)](Result<std::vector<redis::Value>> rows) mutable {
        if (!rows) return done(Error{Code::kUnavailable, rows.error().message});
        for (size_t i = 0; i < plan.ids.size(); ++i) {
          const auto& f = (*rows)[i].elements;
          if (f.size() < 2 || f[0].is_nil() || f[0].str != plan.tenant) {
            return done(AdmitReply{AdmitReply::Kind::kNotFound, plan.ids[i], {}, {}});
          }
          if (plan.allowed.find("," + f[1].str + ",") == std::string::npos) {
            auto status = domain::FromCode(static_cast<int>(f[1].AsInt()))
                              .value_or(domain::InstanceStatus::kPending);
            return done(AdmitReply{AdmitReply::Kind::kRefused, plan.ids[i], status, {}});
          }
        }
        AdmitEach(plan, token, std::move(done));
      });
}

void RedisAdmissionStore::AdmitEach(const AdmitPlan& plan, const std::string& token,
                                    std::function<void(Result<AdmitReply>)> done) {
  redis::All(
      plan.ids.size(),
      [this, &plan, &token](size_t i, redis::Callback cb) {
        AdmitOne(plan, plan.ids[i], token, std::move(cb));
      },
      [this, ids = plan.ids, token,
       done = std::move(done)](std::vector<Result<redis::Value>> answers) {
        AdmitReply all;
        std::optional<Result<AdmitReply>> failure;
        bool lost = false;
        for (size_t i = 0; i < ids.size(); ++i) {
          auto one = ParseOne(ids[i], answers[i]);
          if (one && one->kind == AdmitReply::Kind::kAdmitted) {
            all.admitted.push_back(one->admitted.front());
            continue;
          }
          if (!one && one.error().code == Code::kTimeout) lost = true;
          if (!failure) failure = std::move(one);
        }
        if (!failure) return done(std::move(all));
        // A lost reply: the admission may stand, and the caller undoes every id by the token.
        if (lost) return done(Error{Code::kTimeout, "an admission reply was lost"});
        if (all.admitted.empty()) return done(std::move(*failure));
        redis::args::IdGens admitted;
        for (const auto& [id, gen] : all.admitted) admitted.emplace_back(id, std::to_string(gen));
        Settle(false, token, admitted, "batch refused: undone",
               [failure = std::move(*failure), done](const Result<SettleReply>&) {
                 // Not undone now (Redis went away): they stay unconfirmed, never published, and
                 // the reconciler undoes them by the token.
                 done(failure);
               });
      });
}

void RedisAdmissionStore::AdmitCreate(const AdmitPlan& plan, const std::string& token,
                                      std::function<void(Result<AdmitReply>)> done) {
  // The seq, the tenant's indexes and the instance are in three slots: the seq is taken, then
  // the create is indexed, then made. Each step that fails answers 503 with nothing made; an
  // index entry left behind names no instance and readers skip it.
  redis_->Command(
      {"INCR", redis::keys::SeqCounter(prefix_)},
      [this, plan, token, done = std::move(done)](Result<redis::Value> r) {
        if (!r) return done(Error{Code::kUnavailable, r.error().message});
        if (r->is_error()) return done(Error{Code::kUnavailable, r->str});
        const int64_t seq = r->AsInt();
        const std::string& id = plan.ids.front();
        const redis::args::IndexCreate index{prefix_, plan.tenant,        id,
                                             seq,     plan.max_instances, plan.tags};
        redis::All(
            2,
            [this, &index, &id, seq](size_t i, redis::Callback cb) {
              if (i == 0) {
                redis_->EvalSha(redis::scripts::IndexCreate(), index.Keys(), index.Argv(),
                                std::move(cb));
              } else {
                redis_->Command({"HSETNX", redis::keys::SeqMap(prefix_), std::to_string(seq), id},
                                std::move(cb));
              }
            },
            [this, plan, token, seq, done](std::vector<Result<redis::Value>> indexed) {
              for (const auto& step : indexed) {
                if (!step) return done(Error{Code::kUnavailable, step.error().message});
                if (step->is_error()) return done(Error{Code::kUnavailable, step->str});
              }
              if (auto quota = OverQuota(*indexed[0])) {
                // Nothing was indexed; the seq's map entry goes (no instance will hold it).
                return redis_->Command(
                    {"HDEL", redis::keys::SeqMap(prefix_), std::to_string(seq)},
                    [done, quota](const Result<redis::Value>&) {
                      done(AdmitReply{AdmitReply::Kind::kOverQuota, {}, {}, {}, *quota});
                    });
              }
              const bool ours = indexed[0]->AsInt() == 1;
              const int64_t now = util::NowMs();
              const redis::args::AdmitCreate a{prefix_,
                                               plan.ids.front(),
                                               plan.tenant,
                                               plan.name,
                                               plan.info_json,
                                               plan.request_id,
                                               now,
                                               util::Rfc3339(now),
                                               history_max_,
                                               token,
                                               seq,
                                               plan.audit};
              redis_->EvalSha(
                  redis::scripts::AdmitCreate(), a.Keys(), a.Argv(),
                  [this, plan, seq, ours, done](Result<redis::Value> made) {
                    if (!made) return done(made.error());
                    if (made->is_error()) return done(Error{Code::kUnavailable, made->str});
                    auto reply = ParseAdmit(AdmitPlan::Kind::kCreate, plan.ids, *made);
                    if (reply && reply->kind == AdmitReply::Kind::kCollision) {
                      // The id names another instance: its index entries stay, this seq goes.
                      redis_->Command({"HDEL", redis::keys::SeqMap(prefix_), std::to_string(seq)},
                                      [](const Result<redis::Value>&) {});
                      if (ours) {
                        return redis::Unindex(
                            *redis_, prefix_, plan.tenant, plan.ids.front(), "",
                            [done, reply = std::move(reply)]() mutable { done(std::move(reply)); });
                      }
                    }
                    done(std::move(reply));
                  });
            });
      });
}

void RedisAdmissionStore::Settle(bool confirm, const std::string& token,
                                 const redis::args::IdGens& id_gens, const std::string& why,
                                 std::function<void(Result<SettleReply>)> done) {
  // One call per instance (each in its own slot); a store that groups calls sends them as one.
  const int64_t now = util::NowMs();
  const std::string now_text = util::Rfc3339(now);
  redis::All(
      id_gens.size(),
      [&](size_t i, redis::Callback cb) {
        if (confirm) {
          const redis::args::Confirm a{prefix_, token, {id_gens[i]}};
          redis_->EvalSha(redis::scripts::Confirm(), a.Keys(), a.Argv(), std::move(cb));
        } else {
          const redis::args::UndoAdmission a{prefix_,      token, now,         now_text,
                                             history_max_, why,   {id_gens[i]}};
          redis_->EvalSha(redis::scripts::UndoAdmission(), a.Keys(), a.Argv(), std::move(cb));
        }
      },
      [this, ids = id_gens, done = std::move(done)](std::vector<Result<redis::Value>> answers) {
        SettleReply total;
        std::vector<UndoneCreate> undone;
        for (size_t i = 0; i < answers.size(); ++i) {
          auto& a = answers[i];
          if (!a) return done(a.error());
          if (a->is_error()) return done(Error{Code::kUnavailable, a->str});
          UndoneCreates(ids[i].first, *a, undone);
          auto one = ParseSettle(*a);
          total.total += one.total;
          total.undone += one.undone;
          total.confirmed += one.confirmed;
        }
        // Answered once the undone creates have left their tenant's indexes too: a client told
        // 503 finds nothing of them.
        auto entries = std::make_shared<std::vector<UndoneCreate>>(std::move(undone));
        redis::All(
            entries->size(),
            [this, entries](size_t i, redis::Callback cb) {
              const auto& e = (*entries)[i];
              redis::Unindex(*redis_, prefix_, e.tenant, e.id, e.seq,
                             [cb = std::move(cb)]() mutable { cb(redis::Value{}); });
            },
            [this, ids, total, done](const std::vector<Result<redis::Value>>&) {
              Durable(ids, total, done);
            });
      });
}

void RedisAdmissionStore::Durable(const redis::args::IdGens& id_gens, SettleReply reply,
                                  const std::function<void(Result<SettleReply>)>& done) {
  // A confirm or undo that only the master holds is lost with it: the promoted replica still has
  // the admission unconfirmed, so a 503 could be followed by a worker running the command the
  // broker did take, or a 202 by the reconciler undoing it. Answer only once replicas hold it; a
  // WAIT that falls short is an error, so the settlement is retried (confirm and undo are
  // idempotent) or, past its budget, answered as unknown.
  if (wait_replicas_ <= 0) return done(reply);
  redis::All(
      id_gens.size(),
      [this, &id_gens](size_t i, redis::Callback cb) {
        redis_->WaitReplicas(redis::keys::Instance(prefix_, id_gens[i].first), wait_replicas_,
                             wait_timeout_ms_, std::move(cb));
      },
      [this, reply, done](const std::vector<Result<redis::Value>>& acks) {
        for (const auto& a : acks) {
          if (a && !a->is_error() && a->AsInt() >= wait_replicas_) continue;
          return done(Error{Code::kTimeout,
                            "settlement not on " + std::to_string(wait_replicas_) + " replica(s)"});
        }
        done(reply);
      });
}

void RedisAdmissionStore::UndoneCreates(const std::string& id, const redis::Value& v,
                                        std::vector<UndoneCreate>& out) {
  for (const auto& e : v.elements) {
    // {'undone', owner, seq}: an undone create, whose index entries are in the tenant's slot.
    if (e.type == redis::Value::Type::kArray && e.elements.size() == 3) {
      out.push_back({e.elements[1].str, id, e.elements[2].str});
    }
  }
}

}  // namespace lambda::shim

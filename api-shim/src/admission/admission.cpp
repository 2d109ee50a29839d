#include "admission/admission.h"

#include "lambda/domain/command.h"
#include "lambda/log/log.h"

namespace lambda::shim {

bool ParkedSettlements::Park(std::shared_ptr<Admission> a) {
  if (parked_.size() >= kMax) return false;
  parked_.push_back(std::move(a));
  return true;
}

void ParkedSettlements::Tick(bool redis_up, uint64_t now_ms) {
  if (parked_.empty()) return;
  auto parked = std::exchange(parked_, {});
  for (auto& a : parked) {
    if (redis_up) {
      a->RetrySettle();
    } else if (now_ms >= a->deadline_ms()) {
      a->GiveUp();
    } else {
      parked_.push_back(std::move(a));
    }
  }
}

std::shared_ptr<Admission> Admission::Start(const AdmissionPorts& ports, AdmitPlan plan,
                                            Done done) {
  auto a = std::make_shared<Admission>(ports, std::move(plan), std::move(done));
  a->ports_.store->Admit(a->plan_, a->token_,
                         [a](Result<AdmitReply> r) { a->OnAdmitted(std::move(r)); });
  return a;
}

Admission::Admission(const AdmissionPorts& ports, AdmitPlan plan, Done done)
    : ports_(ports),
      plan_(std::move(plan)),
      done_(std::move(done)),
      token_(ports_.new_token()),
      started_ms_(ports_.now_ms()) {}

AdmissionCounters& Admission::Counters() {
  static thread_local AdmissionCounters scratch;
  return ports_.counters != nullptr ? *ports_.counters : scratch;
}

void Admission::Answer(const AdmissionOutcome& o) {
  if (!done_) return;
  auto done = std::exchange(done_, nullptr);
  done(o);
}

void Admission::OnAdmitted(Result<AdmitReply> r) {
  if (!r) {
    if (r.error().code == Code::kTimeout) {
      // The script may have run: answer 503 now and undo by the token as soon as Redis answers.
      // Undoing here is only early: the admission is unconfirmed, so the reconciler never
      // republishes it and undoes it at its deadline even if this shim is gone by then.
      ++Counters().reply_lost;
      Answer({AdmissionOutcome::Kind::kUnavailable, {}, {}, r.error().message});
      for (const auto& id : plan_.ids) id_gens_.emplace_back(id, "");
      return StartSettle(false, "redis reply lost", ports_.settle_budget_ms * 20);
    }
    step_ = Step::kDone;
    return Answer({AdmissionOutcome::Kind::kUnavailable, {}, {}, r.error().message});
  }
  switch (r->kind) {
    case AdmitReply::Kind::kNotFound:
      step_ = Step::kDone;
      return Answer({AdmissionOutcome::Kind::kNotFound, {}, r->id, {}});
    case AdmitReply::Kind::kRefused:
      step_ = Step::kDone;
      return Answer({AdmissionOutcome::Kind::kRefused, r->status, r->id, {}});
    case AdmitReply::Kind::kCollision:
      step_ = Step::kDone;
      return Answer({AdmissionOutcome::Kind::kUnavailable, {}, {}, "instance id collision; retry"});
    case AdmitReply::Kind::kOverQuota:
      step_ = Step::kDone;
      return Answer({AdmissionOutcome::Kind::kOverQuota, {}, {}, {}, r->limit});
    case AdmitReply::Kind::kAdmitted:
      break;
  }
  if (plan_.kind == AdmitPlan::Kind::kMany) {
    log::Info("admitted batch", {{"request_id", plan_.request_id},
                                 {"action", std::string(domain::ActionName(plan_.action))},
                                 {"count", static_cast<unsigned long>(r->admitted.size())}});
  }
  step_ = Step::kPublishing;
  publishes_left_ = r->admitted.size();
  for (const auto& [id, gen] : r->admitted) id_gens_.emplace_back(id, std::to_string(gen));
  auto self = shared_from_this();  // a synchronous refusal may settle inside the loop below
  for (const auto& [id, gen] : r->admitted) {
    // Per action at debug only: at thousands a second an info line each is the log's whole
    // volume (the worker logs the outcome; /metrics counts them).
    if (plan_.kind != AdmitPlan::Kind::kMany) {
      log::Debug("admitted", {{"request_id", plan_.request_id},
                              {"instance_id", id},
                              {"action", domain::ActionName(plan_.action)},
                              {"gen", gen}});
    }
    Publish(id, gen);
  }
}

void Admission::Publish(const std::string& id, int64_t gen) {
  if (ports_.before_publish) ports_.before_publish(id);
  domain::Command cmd;
  cmd.request_id = plan_.request_id;
  cmd.instance_id = id;
  cmd.action = plan_.action;
  cmd.gen = gen;
  cmd.issued_at = static_cast<int64_t>(ports_.now_ms());
  amqp::PublishOptions opts;
  opts.message_id = plan_.request_id;
  ports_.publisher->Publish(
      ports_.publisher->topology().actions_exchange, amqp::Topology::kActionKey,
      domain::ToJson(cmd), opts,
      [self = shared_from_this(), id, gen](const Status& st) { self->OnPublished(id, gen, st); });
}

void Admission::OnPublished(const std::string& id, int64_t gen, const Status& st) {
  if (st) {
    auto& c = Counters();
    ++c.publishes_confirmed;
    if (c.confirm_latency_ms) c.confirm_latency_ms(ports_.now_ms() - started_ms_);
  } else {
    ++Counters().publishes_failed;
    log::Warn("publish failed", {{"request_id", plan_.request_id},
                                 {"instance_id", id},
                                 {"action", std::string(domain::ActionName(plan_.action))},
                                 {"gen", gen},
                                 {"error", st.error().message}});
    if (published_) published_ = st;
  }
  if (--publishes_left_ > 0) return;
  // A batch settles once every publish has answered: all confirmed, or all undone.
  StartSettle(published_.ok(), published_ ? std::string() : published_.error().message,
              ports_.settle_budget_ms);
}

void Admission::StartSettle(bool confirm, std::string why, uint64_t budget_ms) {
  confirm_ = confirm;
  why_ = std::move(why);
  deadline_ms_ = ports_.now_ms() + budget_ms;
  SendSettle();
}

void Admission::SendSettle() {
  step_ = Step::kSettling;
  ports_.store->Settle(
      confirm_, token_, id_gens_, "admission undone: the broker did not confirm",
      [self = shared_from_this()](Result<SettleReply> r) { self->OnSettled(std::move(r)); });
}

void Admission::RetrySettle() {
  if (step_ == Step::kAwaitingRedis) SendSettle();
}

void Admission::GiveUp() {
  if (step_ != Step::kAwaitingRedis) return;
  step_ = Step::kDone;
  ++Counters().unsettled;
  log::Error("could not settle an admission with Redis; its outcome is unknown",
             {{"token", token_}, {"request_id", plan_.request_id}});
  std::string id = plan_.kind == AdmitPlan::Kind::kCreate ? plan_.ids.front() : std::string();
  Answer({AdmissionOutcome::Kind::kUnknown, {}, id, "redis did not answer: " + why_});
}

void Admission::OnSettled(Result<SettleReply> r) {
  if (!r) {
    if (ports_.now_ms() < deadline_ms_) {
      step_ = Step::kAwaitingRedis;
      if (ports_.parked->Park(shared_from_this())) return;  // retried once Redis answers
    }
    step_ = Step::kAwaitingRedis;
    return GiveUp();
  }
  step_ = Step::kDone;
  const auto& s = *r;
  const std::string new_id =
      plan_.kind == AdmitPlan::Kind::kCreate ? plan_.ids.front() : std::string();
  auto accepted = AdmissionOutcome{AdmissionOutcome::Kind::kAccepted, {}, new_id, {}};
  if (confirm_) {
    // Undone means the reconciler gave up on it first (this shim was that slow): it is off.
    if (s.undone == 0) return Answer(accepted);
    if (s.undone == s.total) {
      return Answer(
          {AdmissionOutcome::Kind::kUnavailable, {}, {}, "admission expired unconfirmed"});
    }
    return Answer({AdmissionOutcome::Kind::kUnknown, {}, new_id, "part of the batch expired"});
  }
  Counters().undone += static_cast<uint64_t>(s.undone);
  if (s.confirmed == 0) return Answer({AdmissionOutcome::Kind::kUnavailable, {}, {}, why_});
  // A worker claimed the command although its confirm did not reach us: it stands.
  if (s.confirmed == s.total) return Answer(accepted);
  Answer({AdmissionOutcome::Kind::kUnknown,
          {},
          new_id,
          "part of the batch was already being carried out when the rest failed"});
}

}  // namespace lambda::shim

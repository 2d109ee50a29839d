#include "consumer/consumer.h"

#include <algorithm>

#include "lambda/log/log.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"

namespace lambda::worker {

Consumer::Consumer(JobContext ctx, ConsumerConfig config)
    : ctx_(std::move(ctx)), config_(config), fair_(config.fair) {
  if (config_.hold_touch_ms > 0) {
    touch_timer_ = std::make_unique<uv::Timer>(ctx_.loop);
    touch_timer_->Start(config_.hold_touch_ms, config_.hold_touch_ms, [this] { TouchHeld(); });
  }
}

Consumer::~Consumer() {
  for (auto& [id, job] : running_) {
    if (job) job->Cancel();
  }
}

void Consumer::StopIntake() {
  intake_ = false;
  if (touch_timer_) touch_timer_->Stop();
  // What waits for a slot goes back to the broker (its message requeued once settled).
  fair_.DrainHeld([this](const std::string&, const Held& h) { Settle(h.s, true); });
}

void Consumer::OnInstanceEvent(std::string_view instance_id, int64_t gen) {
  auto it = running_.find(std::string(instance_id));
  if (it == running_.end()) return;
  if (!it->second) {
    // Its claim is on the way: the job is told as soon as it exists.
    auto& seen = newer_gen_[it->first];
    seen = std::max(seen, gen);
    return;
  }
  if (it->second->gen() >= gen) return;
  ++counters_.interrupted;
  it->second->Supersede();
}

void Consumer::TouchHeld() {
  if (fair_.held() == 0) return;
  // Read the held ones without taking them out: drain, touch each, put back in the same order.
  std::vector<std::pair<std::string, Held>> all;
  fair_.DrainHeld([&](const std::string& t, Held h) { all.emplace_back(t, std::move(h)); });
  const int64_t now = util::NowMs();
  for (auto& [tenant, h] : all) {
    const redis::args::Peek peek{ctx_.prefix, h.c.instance_id, h.c.gen, now};
    ctx_.redis->EvalSha(redis::scripts::Peek(), peek.Keys(), peek.Argv(),
                        [](const Result<redis::Value>&) {});
    fair_.Push(tenant, std::move(h));
  }
}

void Consumer::Ack(uint64_t epoch, uint64_t tag) {
  // A tag from a dropped connection is void (refused): the broker already requeued that message.
  static_cast<void>(acks_->Ack(epoch, tag));
}

void Consumer::Settle(const std::shared_ptr<Settlement>& s, bool requeue) {
  if (requeue) s->requeue = true;
  if (--s->left > 0) return;
  // Requeued, the message comes back whole: its commands that are final by then are stale
  // (fenced by gen) and dropped; the rest run again.
  if (s->requeue) {
    static_cast<void>(acks_->Reject(s->epoch, s->tag, true));
  } else {
    Ack(s->epoch, s->tag);
  }
}

void Consumer::OnDelivery(amqp::Delivery d) {
  uint64_t epoch = d.epoch;
  if (!intake_) {
    static_cast<void>(acks_->Reject(epoch, d.tag, true));
    return;
  }
  ++counters_.deliveries;
  auto cmds = domain::ParseCommands(d.body);
  if (!cmds) {
    log::Warn("invalid command; dead-lettering",
              {{"message_id", d.message_id}, {"reason", cmds.error().message}});
    ++counters_.dead_lettered;
    return DeadLetter(d.body, d.message_id, cmds.error().message,
                      [this, epoch, tag = d.tag](bool ok) {
                        if (ok) return Ack(epoch, tag);
                        static_cast<void>(acks_->Reject(epoch, tag, true));
                      });
  }
  // One message may carry several commands (the shim packs those admitted together): it is
  // settled once every one of them is.
  auto settlement = std::make_shared<Settlement>(Settlement{epoch, d.tag, cmds->size(), false});
  counters_.commands += cmds->size();
  for (auto& c : *cmds) Peek(settlement, std::move(c));
}

void Consumer::Peek(const std::shared_ptr<Settlement>& s, domain::Command c) {
  const redis::args::Peek peek{ctx_.prefix, c.instance_id, c.gen, util::NowMs()};
  ctx_.redis->EvalSha(redis::scripts::Peek(), peek.Keys(), peek.Argv(),
                      [this, s, c](Result<redis::Value> r) mutable {
                        if (!intake_) return Settle(s, true);
                        if (!r || r->is_error() || r->elements.empty()) {
                          return SendToRetryQueue(s, std::move(c), "redis unavailable");
                        }
                        const auto& e = r->elements;
                        if (e[0].str != "ok") {
                          // Superseded or gone: nothing to do, and no slot taken.
                          ++counters_.stale;
                          return Settle(s, false);
                        }
                        std::string tenant = e.size() > 1 ? e[1].str : "";
                        if (!fair_.CanHold(tenant)) return Defer(s, std::move(c));
                        fair_.Push(tenant, Held{s, std::move(c)});
                        Pump();
                      });
}

void Consumer::Defer(const std::shared_ptr<Settlement>& s, domain::Command c) {
  if (c.attempt >= config_.max_attempts) {
    return SendToRetryQueue(s, std::move(c), "its tenant held every slot");
  }
  ++counters_.deferred;
  const uint64_t delay =
      util::BackoffMs(config_.retry_delay_ms, config_.defer_max_ms, std::max(c.attempt, 1));
  ++c.attempt;
  // The outbox entry falls due when the copy is back at the latest, so the reconciler leaves it.
  const int64_t due =
      util::NowMs() + static_cast<int64_t>(amqp::Topology::RetryRouteFor(delay).tier_ms);
  const redis::args::Peek touch{ctx_.prefix, c.instance_id, c.gen, due};
  ctx_.redis->EvalSha(redis::scripts::Peek(), touch.Keys(), touch.Argv(),
                      [](const Result<redis::Value>&) {});
  Republish(s, c, delay);
}

void Consumer::Pump() {
  if (pumping_) return;
  pumping_ = true;
  while (intake_) {
    auto next = fair_.PopNext();
    if (!next) break;
    Start(next->first, next->second.s, std::move(next->second.c));
  }
  pumping_ = false;
}

void Consumer::Start(const std::string& tenant, const std::shared_ptr<Settlement>& s,
                     domain::Command c) {
  if (running_.count(c.instance_id)) {
    ++counters_.busy;
    fair_.Finished(tenant);
    return SendToRetryQueue(s, std::move(c), "a job for this instance runs in this worker");
  }
  ++in_flight_;
  running_.emplace(c.instance_id, nullptr);
  const auto claimed_from = static_cast<uint64_t>(util::NowMs());
  const redis::args::Claim claim_args{ctx_.prefix, c.instance_id, c.gen, ctx_.worker_id,
                                      ctx_.lease_ms};
  ctx_.redis->EvalSha(
      redis::scripts::Claim(), claim_args.Keys(), claim_args.Argv(),
      [this, tenant, s, c, claimed_from](Result<redis::Value> r) mutable {
        if (!r || r->is_error()) {
          return Done(tenant, s, std::move(c), JobOutcome::kRedisUnavailable);
        }
        const auto& e = r->elements;
        std::string outcome = e.empty() ? "" : e[0].str;
        if (outcome == "gone" || outcome == "stale") {
          // Redelivered, duplicated or superseded: already applied or never to be applied.
          if (log::Enabled(log::Level::kInfo)) {
            log::Info("dropping stale command", {{"request_id", c.request_id},
                                                 {"instance_id", c.instance_id},
                                                 {"gen", c.gen},
                                                 {"reason", outcome}});
          }
          ++counters_.stale;
          return Done(tenant, s, std::move(c), JobOutcome::kSuperseded);
        }
        if (outcome == "busy") {
          --in_flight_;
          running_.erase(c.instance_id);
          newer_gen_.erase(c.instance_id);
          ++counters_.busy;
          fair_.Finished(tenant);
          Pump();
          return SendToRetryQueue(s, std::move(c),
                                  "instance leased by " + (e.size() > 1 ? e[1].str : "?"));
        }
        if (outcome != "ok" || e.size() < 5)
          return Done(tenant, s, std::move(c), JobOutcome::kRedisUnavailable);
        if (counters_.queue_wait_ms && c.issued_at > 0) {
          counters_.queue_wait_ms(util::NowMs() - c.issued_at);
        }
        Claim claim{domain::FromCode(static_cast<int>(e[1].AsInt()))
                        .value_or(domain::InstanceStatus::kPending),
                    e[2].str, e[3].str, e[4].str,
                    e.size() > 6 && !e[6].str.empty() ? e[6].str : "running"};
        auto job = std::make_shared<Job>(
            ctx_, c, std::move(claim),
            [this, tenant, s, c, claimed_from](JobOutcome o, const TransientRetry& retry) mutable {
              if (counters_.command_ms) {
                counters_.command_ms(c.action, o,
                                     static_cast<uint64_t>(util::NowMs()) - claimed_from);
              }
              Done(tenant, s, std::move(c), o, retry);
            });
        running_[c.instance_id] = job;
        job->Run();
        if (auto seen = newer_gen_.extract(c.instance_id); !seen.empty() && seen.mapped() > c.gen) {
          ++counters_.interrupted;
          job->Supersede();
        }
      });
}

void Consumer::Done(const std::string& tenant, const std::shared_ptr<Settlement>& s,
                    domain::Command cmd, JobOutcome outcome, const TransientRetry& retry) {
  --in_flight_;
  running_.erase(cmd.instance_id);
  newer_gen_.erase(cmd.instance_id);
  fair_.Finished(tenant);
  Pump();
  switch (outcome) {
    case JobOutcome::kCompleted:
      ++counters_.completed;
      return Settle(s, false);
    case JobOutcome::kSuperseded:
      return Settle(s, false);
    case JobOutcome::kRedisUnavailable:
      return SendToRetryQueue(s, std::move(cmd), "redis unavailable");
    case JobOutcome::kProviderTransient:
      ++counters_.transient_retries;
      cmd.op_attempt = retry.next_attempt;
      return Republish(s, cmd, retry.delay_ms);
  }
}

void Consumer::SendToRetryQueue(const std::shared_ptr<Settlement>& s, domain::Command cmd,
                                const std::string& why) {
  if (cmd.attempt >= config_.max_attempts) {
    ++counters_.dead_lettered;
    return DeadLetter(domain::ToJson(cmd), cmd.request_id,
                      "gave up after " + std::to_string(cmd.attempt) + " attempts: " + why,
                      [this, s](bool ok) { Settle(s, !ok); });
  }
  ++cmd.attempt;
  ++counters_.retried;
  Republish(s, cmd, config_.retry_delay_ms);
}

void Consumer::Republish(const std::shared_ptr<Settlement>& s, const domain::Command& cmd,
                         uint64_t delay_ms) {
  auto route = amqp::Topology::RetryRouteFor(delay_ms);
  amqp::PublishOptions opts;
  opts.message_id = cmd.request_id;
  opts.expiration_ms = route.expiration_ms;
  // Settle only once the retry copy (this one command) is safely with the broker; a lost ack
  // only duplicates, and duplicates are fenced off by gen.
  publisher_->Publish(publisher_->topology().retry_exchange, route.key, domain::ToJson(cmd), opts,
                      [this, s](const Status& st) { Settle(s, !st.ok()); });
}

void Consumer::DeadLetter(const std::string& body, const std::string& message_id,
                          const std::string& reason, std::function<void(bool ok)> done) {
  const auto& topo = publisher_->topology();
  amqp::PublishOptions opts;
  opts.message_id = message_id;
  opts.headers.emplace_back("x-lambda-reason", reason.substr(0, 1024));
  opts.headers.emplace_back("x-lambda-worker", ctx_.worker_id);
  publisher_->Publish(topo.dead_exchange, amqp::Topology::kDeadKey, body, opts,
                      [done = std::move(done)](const Status& st) { done(st.ok()); });
}

}  // namespace lambda::worker

#include "consumer/consumer.h"

#include "lambda/log/log.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"

namespace lambda::worker {

Consumer::Consumer(JobContext ctx, ConsumerConfig config) : ctx_(std::move(ctx)), config_(config) {}

Consumer::~Consumer() {
  for (auto& [id, job] : running_) {
    if (job) job->Cancel();
  }
}

void Consumer::Ack(uint64_t epoch, uint64_t tag) {
  // A tag from a dropped connection is void (refused): the broker already requeued that message.
  static_cast<void>(acks_->Ack(epoch, tag));
}

void Consumer::OnDelivery(amqp::Delivery d) {
  uint64_t epoch = d.epoch;
  if (!intake_) {
    static_cast<void>(acks_->Reject(epoch, d.tag, true));
    return;
  }
  ++counters_.deliveries;
  auto cmd = domain::ParseCommand(d.body);
  if (!cmd) {
    log::Warn("invalid command; dead-lettering",
              {{"message_id", d.message_id}, {"reason", cmd.error().message}});
    return DeadLetter(epoch, d, cmd.error().message);
  }
  uint64_t tag = d.tag;
  auto c = std::move(*cmd);
  if (running_.count(c.instance_id)) {
    ++counters_.busy;
    return SendToRetryQueue(epoch, tag, std::move(c),
                            "a job for this instance runs in this worker");
  }
  ++in_flight_;
  running_.emplace(c.instance_id, nullptr);
  const auto claimed_from = static_cast<uint64_t>(util::NowMs());
  ctx_.redis->EvalSha(
      redis::scripts::Claim(), {},
      redis::args::Claim{ctx_.prefix, c.instance_id, c.gen, ctx_.worker_id, ctx_.lease_ms}.Argv(),
      [this, epoch, tag, c, claimed_from](Result<redis::Value> r) mutable {
        if (!r || r->is_error()) {
          return Done(epoch, tag, std::move(c), JobOutcome::kRedisUnavailable);
        }
        const auto& e = r->elements;
        std::string outcome = e.empty() ? "" : e[0].str;
        if (outcome == "gone" || outcome == "stale") {
          // Redelivered, duplicated or superseded: already applied or never to be applied.
          log::Info("dropping stale command", {{"request_id", c.request_id},
                                               {"instance_id", c.instance_id},
                                               {"gen", c.gen},
                                               {"reason", outcome}});
          ++counters_.stale;
          return Done(epoch, tag, std::move(c), JobOutcome::kSuperseded);
        }
        if (outcome == "busy") {
          --in_flight_;
          running_.erase(c.instance_id);
          ++counters_.busy;
          return SendToRetryQueue(epoch, tag, std::move(c),
                                  "instance leased by " + (e.size() > 1 ? e[1].str : "?"));
        }
        if (outcome != "ok" || e.size() < 5)
          return Done(epoch, tag, std::move(c), JobOutcome::kRedisUnavailable);
        if (counters_.queue_wait_ms && c.issued_at > 0) {
          counters_.queue_wait_ms(util::NowMs() - c.issued_at);
        }
        Claim claim{domain::FromCode(static_cast<int>(e[1].AsInt()))
                        .value_or(domain::InstanceStatus::kPending),
                    e[2].str, e[3].str, e[4].str,
                    e.size() > 6 && !e[6].str.empty() ? e[6].str : "running"};
        auto job = std::make_shared<Job>(
            ctx_, c, std::move(claim),
            [this, epoch, tag, c, claimed_from](JobOutcome o, const TransientRetry& retry) mutable {
              if (counters_.command_ms) {
                counters_.command_ms(c.action, o,
                                     static_cast<uint64_t>(util::NowMs()) - claimed_from);
              }
              Done(epoch, tag, std::move(c), o, retry);
            });
        running_[c.instance_id] = job;
        job->Run();
      });
}

void Consumer::Done(uint64_t epoch, uint64_t tag, domain::Command cmd, JobOutcome outcome,
                    const TransientRetry& retry) {
  --in_flight_;
  running_.erase(cmd.instance_id);
  switch (outcome) {
    case JobOutcome::kCompleted:
      ++counters_.completed;
      return Ack(epoch, tag);
    case JobOutcome::kSuperseded:
      return Ack(epoch, tag);
    case JobOutcome::kRedisUnavailable:
      return SendToRetryQueue(epoch, tag, std::move(cmd), "redis unavailable");
    case JobOutcome::kProviderTransient:
      ++counters_.transient_retries;
      cmd.op_attempt = retry.next_attempt;
      return Republish(epoch, tag, cmd, retry.delay_ms);
  }
}

void Consumer::SendToRetryQueue(uint64_t epoch, uint64_t tag, domain::Command cmd,
                                const std::string& why) {
  if (cmd.attempt >= config_.max_attempts) {
    amqp::Delivery d;
    d.epoch = epoch;
    d.tag = tag;
    d.body = domain::ToJson(cmd);
    d.message_id = cmd.request_id;
    return DeadLetter(epoch, d,
                      "gave up after " + std::to_string(cmd.attempt) + " attempts: " + why);
  }
  ++cmd.attempt;
  ++counters_.retried;
  Republish(epoch, tag, cmd, config_.retry_delay_ms);
}

void Consumer::Republish(uint64_t epoch, uint64_t tag, const domain::Command& cmd,
                         uint64_t delay_ms) {
  auto route = amqp::Topology::RetryRouteFor(delay_ms);
  amqp::PublishOptions opts;
  opts.message_id = cmd.request_id;
  opts.expiration_ms = route.expiration_ms;
  // Ack only once the retry copy is safely with the broker; a lost ack only duplicates, and
  // duplicates are fenced off by gen.
  publisher_->Publish(publisher_->topology().retry_exchange, route.key, domain::ToJson(cmd), opts,
                      [this, epoch, tag](const Status& st) {
                        if (st) return Ack(epoch, tag);
                        static_cast<void>(acks_->Reject(epoch, tag, true));
                      });
}

void Consumer::DeadLetter(uint64_t epoch, const amqp::Delivery& d, const std::string& reason) {
  ++counters_.dead_lettered;
  const auto& topo = publisher_->topology();
  amqp::PublishOptions opts;
  opts.message_id = d.message_id;
  opts.headers.emplace_back("x-lambda-reason", reason.substr(0, 1024));
  opts.headers.emplace_back("x-lambda-worker", ctx_.worker_id);
  uint64_t tag = d.tag;
  publisher_->Publish(topo.dead_exchange, amqp::Topology::kDeadKey, d.body, opts,
                      [this, epoch, tag](const Status& st) {
                        if (st) return Ack(epoch, tag);
                        static_cast<void>(acks_->Reject(epoch, tag, true));
                      });
}

}  // namespace lambda::worker

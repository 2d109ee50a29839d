#include "reconciler/reconciler.h"

#include <algorithm>

#include "lambda/domain/command.h"
#include "lambda/log/log.h"
#include "lambda/redis/fan_out.h"
#include "lambda/redis/keys.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"

namespace lambda::worker {

Reconciler::Reconciler(uv_loop_t* loop, redis::Client* redis, ReconcilerConfig config,
                       std::string prefix, std::string worker_id, int history_max)
    : redis_(redis),
      config_(config),
      prefix_(std::move(prefix)),
      worker_id_(std::move(worker_id)),
      history_max_(history_max),
      timer_(loop) {
  // A create stuck at a build status fails with the next step's *_FAILED status.
  create_failures_ = ",";
  domain::InstanceStatus previous = domain::InstanceStatus::kPending;
  for (const auto& step : domain::CreateSteps()) {
    create_failures_ += std::to_string(domain::CodeOf(previous)) + ":" +
                        std::to_string(domain::CodeOf(step.failed)) + ",";
    previous = step.done;
  }
}

void Reconciler::Start() {
  timer_.Start(config_.interval_ms, config_.interval_ms, [this] { Pass(); });
}

void Reconciler::UndoUnconfirmed(const std::string& id, const std::string& token,
                                 const std::string& gen) {
  int64_t now = util::NowMs();
  const redis::args::UndoAdmission undo{
      prefix_,      token,
      now,          util::Rfc3339(now),
      history_max_, "admission never confirmed: undone by the reconciler",
      {{id, gen}}};
  redis_->EvalSha(redis::scripts::UndoAdmission(), undo.Keys(), undo.Argv(),
                  [this, id, gen](Result<redis::Value> r) {
                    if (!r || r->is_error() || r->elements.empty()) return;  // next pass
                    const auto& e = r->elements[0];
                    // {'undone', owner, seq}: an undone create, in its tenant's indexes still.
                    if (e.type == redis::Value::Type::kArray && e.elements.size() == 3) {
                      redis::Unindex(*redis_, prefix_, e.elements[1].str, id, e.elements[2].str);
                    } else if (e.str != "undone") {
                      return;  // claimed meanwhile: it stands
                    }
                    ++counters_.undone;
                    log::Warn(
                        "undid an admission its shim never confirmed (it answered 503 or died)",
                        {{"instance_id", id}, {"gen", gen}});
                  });
}

void Reconciler::Pass() {
  if (in_pass_ || !redis_->connected() || publisher_ == nullptr || !publisher_->connected()) return;
  in_pass_ = true;
  ++counters_.passes;
  const redis::args::ReconcilerLease lease{prefix_, worker_id_, config_.interval_ms * 3};
  redis_->EvalSha(redis::scripts::ReconcilerLease(), lease.Keys(), lease.Argv(),
                  [this](Result<redis::Value> r) {
                    if (!r || r->is_error() || r->AsInt() != 1) {
                      in_pass_ = false;  // another worker reconciles (or Redis is away)
                      return;
                    }
                    WalkBuckets();
                  });
}

void Reconciler::WalkBuckets() {
  // The outbox is one bucket per slot (keys.h); a pass looks at the next slice of them, so a
  // full round takes kSlots / buckets_per_pass passes.
  const size_t n = std::min<size_t>(config_.buckets_per_pass, redis::keys::kSlots);
  const int first = next_bucket_;
  next_bucket_ = static_cast<int>((first + n) % redis::keys::kSlots);
  const int64_t due_before = util::NowMs() - static_cast<int64_t>(config_.republish_after_ms);
  redis::All(
      n,
      [this, first, due_before](size_t i, redis::Callback cb) {
        const int slot = static_cast<int>((first + i) % redis::keys::kSlots);
        redis_->Command({"ZRANGEBYSCORE", redis::keys::PendingBucket(prefix_, slot), "-inf",
                         std::to_string(due_before), "LIMIT", "0", std::to_string(config_.batch)},
                        std::move(cb));
      },
      [this](std::vector<Result<redis::Value>> buckets) {
        std::vector<std::string> due;
        for (auto& b : buckets) {
          if (!b || b->is_error()) continue;  // that node is away: its slice comes round again
          for (auto& id : b->elements) {
            if (due.size() >= static_cast<size_t>(config_.batch)) break;
            due.push_back(std::move(id.str));
          }
        }
        LookAt(std::move(due));
      });
}

void Reconciler::LookAt(std::vector<std::string> ids) {
  const int64_t now = util::NowMs();
  const std::string now_text = util::Rfc3339(now);
  redis::All(
      ids.size(),
      [&](size_t i, redis::Callback cb) {
        const redis::args::ReconcileOne one{prefix_,
                                            ids[i],
                                            now,
                                            now_text,
                                            config_.republish_after_ms,
                                            config_.create_timeout_ms,
                                            config_.action_timeout_ms,
                                            create_failures_,
                                            history_max_,
                                            config_.unconfirmed_after_ms};
        redis_->EvalSha(redis::scripts::ReconcileOne(), one.Keys(), one.Argv(), std::move(cb));
      },
      [this, ids](std::vector<Result<redis::Value>> verdicts) {
        in_pass_ = false;
        uint64_t failed = 0;
        for (size_t i = 0; i < ids.size(); ++i) {
          const auto& v = verdicts[i];
          if (!v || v->is_error() || v->elements.empty()) continue;  // next round
          const auto& e = v->elements;
          const std::string& verdict = e[0].str;
          if (verdict == "failed") {
            ++failed;
          } else if (verdict == "undo" && e.size() == 3) {
            UndoUnconfirmed(ids[i], e[1].str, e[2].str);
          } else if (verdict == "republish" && e.size() == 5) {
            Republish(ids[i], e);
          }
        }
        if (failed > 0) {
          counters_.failed += failed;
          log::Warn("reconciler failed stuck instances", {{"count", static_cast<int64_t>(failed)}});
        }
      });
}

void Reconciler::Republish(const std::string& id, const std::vector<redis::Value>& e) {
  domain::Command cmd;
  cmd.instance_id = id;
  auto action = domain::ParseAction(e[1].str);
  if (!action) return;
  cmd.action = *action;
  cmd.gen = e[2].AsInt();
  cmd.request_id = e[3].str.empty() ? util::NewUuid() : e[3].str;
  cmd.issued_at = util::NowMs();
  cmd.attempt = static_cast<int>(std::min<int64_t>(e[4].AsInt(), 1000));
  ++counters_.republished;
  log::Warn("republishing a pending command nobody worked on",
            {{"request_id", cmd.request_id},
             {"instance_id", cmd.instance_id},
             {"gen", cmd.gen},
             {"action", std::string(domain::ActionName(cmd.action))}});
  amqp::PublishOptions opts;
  opts.message_id = cmd.request_id;
  // Unconfirmed means it stays pending and the next look past the deadline tries again.
  publisher_->Publish(publisher_->topology().actions_exchange, amqp::Topology::kActionKey,
                      domain::ToJson(cmd), opts, [](const Status&) {});
}

}  // namespace lambda::worker

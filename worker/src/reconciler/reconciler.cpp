#include "reconciler/reconciler.h"

#include "lambda/domain/command.h"
#include "lambda/log/log.h"
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
  redis_->EvalSha(redis::scripts::UndoAdmission(), {},
                  redis::args::UndoAdmission{prefix_,
                                             token,
                                             now,
                                             util::Rfc3339(now),
                                             history_max_,
                                             "admission never confirmed: undone by the reconciler",
                                             {{id, gen}}}
                      .Argv(),
                  [this, id, gen](Result<redis::Value> r) {
                    if (!r || r->is_error() || r->elements.empty()) return;  // next pass
                    if (r->elements[0].str != "undone") return;  // claimed meanwhile: it stands
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
  int64_t now = util::NowMs();
  redis_->EvalSha(
      redis::scripts::Reconcile(), {},
      redis::args::Reconcile{prefix_, now, util::Rfc3339(now), config_.republish_after_ms,
                             config_.create_timeout_ms, config_.action_timeout_ms, create_failures_,
                             history_max_, config_.batch, worker_id_, config_.interval_ms * 3,
                             config_.unconfirmed_after_ms}
          .Argv(),
      [this](Result<redis::Value> r) {
        in_pass_ = false;
        if (!r || r->is_error() || r->elements.empty()) return;
        const auto& e = r->elements;
        if (e[0].AsInt() < 0) return;  // another worker reconciles
        if (int64_t failed = e[0].AsInt(); failed > 0) {
          counters_.failed += static_cast<uint64_t>(failed);
          log::Warn("reconciler failed stuck instances", {{"count", failed}});
        }
        size_t undo = e.size() > 1 ? static_cast<size_t>(std::max<int64_t>(0, e[1].AsInt())) : 0;
        for (size_t i = 2; i + 2 < e.size() && i < 2 + 3 * undo; i += 3)
          UndoUnconfirmed(e[i].str, e[i + 1].str, e[i + 2].str);
        for (size_t i = 2 + 3 * undo; i + 4 < e.size(); i += 5) {
          domain::Command cmd;
          cmd.instance_id = e[i].str;
          auto action = domain::ParseAction(e[i + 1].str);
          if (!action) continue;
          cmd.action = *action;
          cmd.gen = e[i + 2].AsInt();
          cmd.request_id = e[i + 3].str.empty() ? util::NewUuid() : e[i + 3].str;
          cmd.issued_at = util::NowMs();
          cmd.attempt = static_cast<int>(std::min<int64_t>(e[i + 4].AsInt(), 1000));
          ++counters_.republished;
          log::Warn("republishing a pending command nobody worked on",
                    {{"request_id", cmd.request_id},
                     {"instance_id", cmd.instance_id},
                     {"gen", cmd.gen},
                     {"action", std::string(domain::ActionName(cmd.action))}});
          amqp::PublishOptions opts;
          opts.message_id = cmd.request_id;
          // Unconfirmed means it stays pending and the next pass past the deadline tries again.
          publisher_->Publish(publisher_->topology().actions_exchange, amqp::Topology::kActionKey,
                              domain::ToJson(cmd), opts, [](const Status&) {});
        }
      });
}

}  // namespace lambda::worker

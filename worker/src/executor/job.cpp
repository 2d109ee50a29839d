#include "executor/job.h"

#include <algorithm>

#include "lambda/amqp/config.h"
#include "lambda/log/log.h"
#include "lambda/redis/fan_out.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"

namespace lambda::worker {

namespace {
/// How long a job's ledger entries may wait to be appended together: short beside a real VM
/// operation, long beside the sim's (a start's operations then take one append, not one each).
constexpr uint64_t kLedgerWindowMs = 50;
}  // namespace

Job::Job(const JobContext& ctx, domain::Command cmd, Claim claim, DoneFn done)
    : ctx_(ctx),
      cmd_(std::move(cmd)),
      claim_(std::move(claim)),
      ledger_batch_(ctx.loop, ctx.ledger, cmd_.instance_id, &op_, kLedgerWindowMs),
      done_(std::move(done)),
      timer_(std::make_unique<uv::Timer>(ctx.loop)),
      heartbeat_(std::make_unique<uv::Timer>(ctx.loop)) {
  op_.request_id = cmd_.request_id;
  op_.gen = cmd_.gen;
  op_.worker = ctx_.worker_id;
  // The job outlives every provider operation it starts (their callbacks hold it).
  op_.record = [this](const LedgerEntry& e) { ledger_batch_.Add(e); };
}

void Job::Run() {
  auto spec = SpecFromInfo(cmd_.instance_id, claim_.info_json);
  if (!spec) {
    // The stored spec is unreadable: fail the instance rather than loop on it.
    spec_.id = cmd_.instance_id;
    plan_ = MakePlan(cmd_.action, claim_.status);
    auto failed =
        plan_.steps.empty() ? domain::InstanceStatus::kFailed : plan_.steps.front().on_failure;
    auto self = shared_from_this();
    return Write(failed, "unreadable instance_info: " + spec.error().message, true,
                 [self] { self->Finish(JobOutcome::kCompleted); });
  }
  spec_ = *spec;
  Heartbeat();
  servers_ = ServersFromJson(claim_.servers_json);
  written_servers_json_ = claim_.servers_json;  // as stored: unchanged servers are not rewritten
  MarkChecked();
  plan_ = MakePlan(cmd_.action, claim_.status, claim_.mode == "running");
  if (log::Enabled(log::Level::kInfo)) LogStarted();
  NextStep();
}

void Job::MarkChecked() {
  checked_until_ms_ = static_cast<uint64_t>(util::NowMs()) + ctx_.lease_ms / 3;
}

void Job::LogStarted() const {
  log::Info("job started", {{"request_id", cmd_.request_id},
                            {"instance_id", cmd_.instance_id},
                            {"action", std::string(domain::ActionName(cmd_.action))},
                            {"gen", cmd_.gen},
                            {"worker", ctx_.worker_id},
                            {"from", domain::Info(claim_.status).name}});
}

void Job::Finish(JobOutcome outcome, TransientRetry retry) {
  if (finished_) return;
  finished_ = true;
  ledger_batch_.Flush();
  timer_->Stop();
  heartbeat_->Stop();
  auto done = std::move(done_);
  done(outcome, retry);
}

void Job::Heartbeat() {
  uint64_t every = std::max<uint64_t>(ctx_.lease_ms / 3, 1);
  // The job owns the timer: the callback cannot outlive it, and holds no shared_ptr to it.
  heartbeat_->Start(every, every, [this] {
    const redis::args::RenewLease renew{ctx_.prefix, cmd_.instance_id, ctx_.worker_id,
                                        ctx_.lease_ms, cmd_.gen};
    ctx_.redis->EvalSha(redis::scripts::RenewLease(), renew.Keys(), renew.Argv(),
                        [weak = weak_from_this()](Result<redis::Value> r) {
                          auto self = weak.lock();
                          if (!self || self->finished_ || !r || r->is_error() || r->AsInt() == 1)
                            return;
                          // Superseded or the lease is gone: stop renewing and interrupt the step;
                          // its status write would be fenced off anyway.
                          self->heartbeat_->Stop();
                          log::Info("lease lost mid-step", {{"request_id", self->cmd_.request_id},
                                                            {"instance_id", self->cmd_.instance_id},
                                                            {"gen", self->cmd_.gen}});
                          self->Supersede();
                        });
  });
}

void Job::Supersede() {
  if (finished_ || op_.cancel->cancelled()) return;
  log::Info(
      "job superseded mid-step; interrupting it",
      {{"request_id", cmd_.request_id}, {"instance_id", cmd_.instance_id}, {"gen", cmd_.gen}});
  heartbeat_->Stop();
  op_.cancel->Cancel();
}

void Job::EndSuperseded() {
  // renew_lease.lua gives a superseded holder's lease back, so the newer command (on any
  // worker) is claimed at once rather than after the lease runs out.
  auto self = shared_from_this();
  const redis::args::RenewLease renew{ctx_.prefix, cmd_.instance_id, ctx_.worker_id, ctx_.lease_ms,
                                      cmd_.gen};
  ctx_.redis->EvalSha(
      redis::scripts::RenewLease(), renew.Keys(), renew.Argv(),
      [self](const Result<redis::Value>&) { self->Finish(JobOutcome::kSuperseded); });
}

void Job::NextStep() {
  auto self = shared_from_this();
  if (op_.cancel->cancelled()) return EndSuperseded();
  if (step_ >= plan_.steps.size()) {
    return Write(plan_.final_status, "", true, [self] { self->Finish(JobOutcome::kCompleted); });
  }
  if (static_cast<uint64_t>(util::NowMs()) < checked_until_ms_) {
    // The claim, a renewal or a status write has just checked gen and the lease.
    return RunCurrentStep();
  }
  // Before each later step: still our command? (superseded by a newer gen, or lease lost)
  const redis::args::RenewLease renew{ctx_.prefix, cmd_.instance_id, ctx_.worker_id, ctx_.lease_ms,
                                      cmd_.gen};
  ctx_.redis->EvalSha(redis::scripts::RenewLease(), renew.Keys(), renew.Argv(),
                      [self](Result<redis::Value> r) {
                        if (!r || r->is_error()) return self->Finish(JobOutcome::kRedisUnavailable);
                        if (r->AsInt() != 1) {
                          log::Info("job superseded", {{"request_id", self->cmd_.request_id},
                                                       {"instance_id", self->cmd_.instance_id},
                                                       {"gen", self->cmd_.gen}});
                          return self->Finish(JobOutcome::kSuperseded);
                        }
                        self->MarkChecked();
                        self->RunCurrentStep();
                      });
}

void Job::RunCurrentStep() {
  auto self = shared_from_this();
  const Step& step = plan_.steps[step_];
  RunStep(step, [self](const Status& st) {
    const Step& s = self->plan_.steps[self->step_];
    // Interrupted (or finished anyway) after a newer gen came: nothing of this run is written.
    if (self->op_.cancel->cancelled()) return self->EndSuperseded();
    if (!st) {
      // The provider's text (a hook's stderr, a cloud's error body) is for operators: the
      // log and the ledger keep it under an id; the tenant reads the step and the id.
      const std::string error_id = util::NewUuid();
      log::Warn("step failed", {{"request_id", self->cmd_.request_id},
                                {"instance_id", self->cmd_.instance_id},
                                {"step", StepName(s.kind)},
                                {"error_id", error_id},
                                {"error", st.error().message}});
      self->op_.record(
          {"step", StepName(s.kind), "failed", "error id " + error_id + ": " + st.error().message});
      return self->Write(s.on_failure, TenantFailure(s, error_id), true,
                         [self] { self->Finish(JobOutcome::kCompleted); });
    }
    log::Debug("step done", {{"request_id", self->cmd_.request_id},
                             {"instance_id", self->cmd_.instance_id},
                             {"step", StepName(s.kind)},
                             {"gen", self->cmd_.gen}});
    ++self->step_;
    if (s.on_success) return self->Write(*s.on_success, "", false, [self] { self->NextStep(); });
    self->NextStep();
  });
}

void Job::RunStep(const Step& step, Provider::Done done) {
  auto self = shared_from_this();
  Provider* p = ctx_.provider;
  switch (step.kind) {
    case StepKind::kCreateCluster:
      return Attempt(
          [self, p](Provider::Done d) {
            p->CreateCluster(self->op_, self->spec_, &self->servers_, std::move(d));
          },
          std::move(done));
    case StepKind::kInstall:
      return Attempt(
          [self, p, key = step.install_key](Provider::Done d) {
            p->Install(self->op_, self->spec_, self->servers_, key, std::move(d));
          },
          std::move(done));
    case StepKind::kStartVms:
      return RunVms(true, 0, std::move(done));
    case StepKind::kStopVms:
      return RunVms(false, 0, std::move(done));
    case StepKind::kStartServices:
      return Attempt(
          [self, p](Provider::Done d) {
            p->StartServices(self->op_, self->spec_, self->servers_, std::move(d));
          },
          std::move(done));
    case StepKind::kStopServices:
      return Attempt(
          [self, p](Provider::Done d) {
            p->StopServices(self->op_, self->spec_, self->servers_, std::move(d));
          },
          std::move(done));
    case StepKind::kDestroyCluster:
      return Attempt(
          [self, p](Provider::Done d) {
            p->DestroyCluster(self->op_, self->spec_, &self->servers_, std::move(d));
          },
          std::move(done));
  }
}

// Master first, then slaves in order, one at a time (the order SPEC §2 gives for start and stop).
void Job::RunVms(bool start, size_t index, Provider::Done done) {
  if (index >= servers_.size()) return done(OkStatus());
  auto self = shared_from_this();
  ServerInfo* server = &servers_[index];
  Attempt(
      [self, start, server](Provider::Done d) {
        if (start) {
          self->ctx_.provider->StartVm(self->op_, self->spec_, server, std::move(d));
        } else {
          self->ctx_.provider->StopVm(self->op_, self->spec_, server, std::move(d));
        }
      },
      [self, start, index, done = std::move(done)](const Status& st) mutable {
        if (!st) return done(st);
        self->RunVms(start, index + 1, std::move(done));
      });
}

void Job::Attempt(const std::function<void(Provider::Done)>& op, Provider::Done done) {
  auto self = shared_from_this();
  op([self, done = std::move(done)](Status st) mutable {
    if (self->op_.cancel->cancelled()) return done(std::move(st));  // RunCurrentStep ends it
    if (st || st.error().code != Code::kUnavailable) return done(std::move(st));
    // Progress written in this run moves the resume point: the count starts again there.
    int attempt = self->progressed_ ? 1 : self->cmd_.op_attempt;
    if (attempt >= self->ctx_.max_op_attempts) {
      return done(Error{st.error().code, st.error().message + " (gave up after " +
                                             std::to_string(attempt) + " attempts)"});
    }
    self->DeferTransient(st.error(), attempt);
  });
}

void Job::DeferTransient(const Error& error, int attempt) {
  auto self = shared_from_this();
  ledger_batch_.Flush();
  TransientRetry retry{attempt + 1,
                       util::BackoffMs(ctx_.op_backoff_ms, ctx_.op_backoff_max_ms, attempt)};
  log::Info("transient provider error; retrying later",
            {{"request_id", cmd_.request_id},
             {"instance_id", cmd_.instance_id},
             {"step", StepName(plan_.steps[step_].kind)},
             {"attempt", attempt},
             {"delay_ms", static_cast<int64_t>(retry.delay_ms)},
             {"error", error.message}});
  // Give the lease back first, so whichever worker receives the retry can claim it at once.
  // The outbox entry falls due when the retry arrives at the latest (it may wait behind others in
  // its tier); only past that does the reconciler step in.
  int64_t due =
      util::NowMs() + static_cast<int64_t>(amqp::Topology::RetryRouteFor(retry.delay_ms).tier_ms);
  const redis::args::ReleaseForRetry release{ctx_.prefix, cmd_.instance_id, ctx_.worker_id,
                                             cmd_.gen, due};
  ctx_.redis->EvalSha(redis::scripts::ReleaseForRetry(), release.Keys(), release.Argv(),
                      [self, retry](Result<redis::Value> r) {
                        // Redis unreachable: the lease runs out by itself; the retry still goes
                        // ahead.
                        if (r && !r->is_error() && r->AsInt() == 0)
                          return self->Finish(JobOutcome::kSuperseded);
                        self->Finish(JobOutcome::kProviderTransient, retry);
                      });
}

void Job::Write(domain::InstanceStatus status, const std::string& failure, bool final,
                std::function<void()> next, int attempt) {
  auto self = shared_from_this();
  ledger_batch_.Flush();  // sent ahead of the status write the operations led to
  int64_t now = util::NowMs();
  // Only what changed: the servers (and the master id with them) when a step changed them.
  std::string servers = ServersToJson(servers_);
  std::string master_id;
  if (servers == written_servers_json_) {
    servers.clear();
  } else if (!servers_.empty()) {
    master_id = servers_.front().id;
  }
  const redis::args::WriteStatus write{
      ctx_.prefix, cmd_.instance_id, cmd_.gen, ctx_.worker_id, domain::CodeOf(status), failure,
      servers, final, now, util::Rfc3339(now), cmd_.request_id, ctx_.lease_ms, master_id,
      ctx_.history_max,
      // The plan's end records its run mode (a pause, a resume).
      final && failure.empty() && status == plan_.final_status ? plan_.final_mode : std::string()};
  ctx_.redis->EvalSha(
      redis::scripts::WriteStatus(), write.Keys(), write.Argv(),
      [self, status, failure, final, next = std::move(next), attempt,
       servers](Result<redis::Value> r) mutable {
        if (!r || r->is_error()) {
          if (attempt >= 5) return self->Finish(JobOutcome::kRedisUnavailable);
          uint64_t delay = 100ULL << attempt;
          // The job owns its timer, so `this` outlives the callback; capturing no
          // shared_ptr keeps the job from owning itself (the consumer owns running
          // jobs).
          Job* job = self.get();
          return job->timer_->Start(
              delay, 0, [job, status, failure, final, next, attempt]() mutable {
                job->Write(status, failure, final, std::move(next), attempt + 1);
              });
        }
        // A final DESTROYED answers {'ok', owner}: the tenant's live index is in another slot.
        if (r->type == redis::Value::Type::kArray && r->elements.size() == 2 &&
            r->elements[0].str == "ok") {
          redis::RemoveLive(*self->ctx_.redis, self->ctx_.prefix, r->elements[1].str,
                            self->cmd_.instance_id);
        } else if (r->str != "ok") {
          log::Info("status write fenced off", {{"request_id", self->cmd_.request_id},
                                                {"instance_id", self->cmd_.instance_id},
                                                {"gen", self->cmd_.gen},
                                                {"reason", r->str}});
          return self->Finish(JobOutcome::kSuperseded);
        }
        if (!servers.empty()) self->written_servers_json_ = std::move(servers);
        if (!final) {
          self->progressed_ = true;
          self->MarkChecked();  // the write was fenced by gen and lease, and extended the lease
        }
        (final ? log::Info : log::Debug)("status written", {{"request_id", self->cmd_.request_id},
                                                            {"instance_id", self->cmd_.instance_id},
                                                            {"gen", self->cmd_.gen},
                                                            {"status", domain::Info(status).name},
                                                            {"worker", self->ctx_.worker_id}});
        next();
      });
}

}  // namespace lambda::worker

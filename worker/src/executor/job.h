#pragma once
/// Runs one claimed command's plan: provider operations, a fenced status write after each step,
/// early stop when superseded. A transient provider error ends the run: the lease is given back
/// and the consumer sends the command through the delayed-retry queue with a back-off, so no
/// worker waits on it; past the attempt limit the instance fails with the last error.
/// Thread: loop only. The job keeps itself alive until `done` has run.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "executor/ledger.h"
#include "executor/plan.h"
#include "lambda/domain/command.h"
#include "lambda/redis/async_client.h"
#include "lambda/uv/handle.h"
#include "providers/provider.h"

namespace lambda::worker {

struct JobContext {
  uv_loop_t* loop;
  redis::Client* redis;
  Provider* provider;
  Ledger* ledger;      ///< the operations ledger; every provider operation reports to it
  std::string prefix;  ///< Redis key prefix
  std::string worker_id;
  uint64_t lease_ms;
  int history_max;
  int max_op_attempts;         ///< runs that meet a transient error before failing the instance
  uint64_t op_backoff_ms;      ///< first retry delay; doubles, with jitter
  uint64_t op_backoff_max_ms;  ///< the cap on that delay
};

/// What the consumer does with the delivery once the job ends.
enum class JobOutcome {
  kCompleted,          ///< final status written: ack
  kSuperseded,         ///< gen moved on or the lease was lost: ack and drop
  kRedisUnavailable,   ///< Redis unavailable mid-way: hand the command to the retry queue
  kProviderTransient,  ///< transient provider error: republish after a back-off (TransientRetry)
};

/// With kProviderTransient: how the command is to be retried.
struct TransientRetry {
  int next_attempt = 1;  ///< the command's op_attempt for the retry
  uint64_t delay_ms = 0;
};

/// What claim.lua returned.
struct Claim {
  domain::InstanceStatus status;
  std::string info_json;
  std::string servers_json;
  std::string name;
  std::string mode = "running";  ///< running | paused | standby (paused/standby: VMs only)
};

class Job : public std::enable_shared_from_this<Job> {
 public:
  using DoneFn = std::function<void(JobOutcome, TransientRetry)>;
  Job(const JobContext& ctx, domain::Command cmd, Claim claim, DoneFn done);
  void Run();
  /// Drops a pending Redis back-off (at shutdown); the job then ends with whoever holds it.
  void Cancel() {
    timer_->Stop();
    heartbeat_->Stop();
  }
  /// A newer gen of the instance was admitted (its event, or a lease renewal, told): the running
  /// step is interrupted where its provider can (a sim wait, a hook's process group) and the job
  /// ends superseded as soon as the step returns, without writing.
  void Supersede();
  int64_t gen() const { return cmd_.gen; }

 private:
  void NextStep();
  void RunCurrentStep();
  void RunStep(const Step& step, Provider::Done done);
  void RunVms(bool start, size_t index, Provider::Done done);
  /// Runs a provider operation; a transient error ends the job for a delayed retry instead.
  void Attempt(const std::function<void(Provider::Done)>& op, Provider::Done done);
  /// A transient provider error: the lease goes back and the command is republished later.
  void DeferTransient(const Error& error, int attempt);
  void Write(domain::InstanceStatus status, const std::string& failure, bool final,
             std::function<void()> next, int attempt = 1);
  void Finish(JobOutcome outcome, TransientRetry retry = {});
  /// Interrupted by a newer gen: the lease goes back (if still ours), then Finish(kSuperseded).
  void EndSuperseded();
  /// Renews the lease every third of it while the job runs: a real VM operation or a hook can
  /// take longer than the lease, and a lease that runs out mid-step hands the instance to
  /// another worker while this one still acts on it.
  void Heartbeat();
  void MarkChecked();
  void LogStarted() const;

  const JobContext& ctx_;
  domain::Command cmd_;
  Claim claim_;
  InstanceSpec spec_;
  Operation op_;  ///< who this job acts for; providers hold it until their callback runs
  /// What the provider operations did, appended with the step's status write (or sooner).
  LedgerBatch ledger_batch_;
  std::vector<ServerInfo> servers_;
  Plan plan_;
  size_t step_ = 0;
  DoneFn done_;
  std::unique_ptr<uv::Timer> timer_;
  std::unique_ptr<uv::Timer> heartbeat_;
  bool finished_ = false;
  /// Until when the lease is known to be ours and the command current, with a third of the lease
  /// to spare: the claim, a renewal and every status write prove both, so a step that starts
  /// before this needs no renewal round trip of its own (the writes stay fenced regardless).
  uint64_t checked_until_ms_ = 0;
  /// The servers JSON as Redis has it: a status write sends it (and the master id) only when
  /// a step changed it.
  std::string written_servers_json_;
  bool progressed_ = false;  ///< a step's status was written: later steps start a fresh count
};

}  // namespace lambda::worker

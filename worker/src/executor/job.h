#pragma once
/// Runs one claimed command's plan: provider operations, a fenced status write after each step,
/// early stop when superseded, transient errors retried with back-off and jitter.
/// Thread: loop only. The job keeps itself alive until `done` has run.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "executor/plan.h"
#include "lambda/domain/command.h"
#include "lambda/redis/async_client.h"
#include "lambda/uv/handle.h"
#include "providers/provider.h"

namespace lambda::worker {

struct JobContext {
  uv_loop_t* loop;
  redis::AsyncClient* redis;
  Provider* provider;
  std::string prefix;  ///< Redis key prefix
  std::string worker_id;
  uint64_t lease_ms;
  int history_max;
  int max_op_attempts;     ///< provider attempts per operation before failing the instance
  uint64_t op_backoff_ms;  ///< first retry delay; doubles, with jitter
};

/// What the consumer does with the delivery once the job ends.
enum class JobOutcome {
  kCompleted,   ///< final status written: ack
  kSuperseded,  ///< gen moved on or the lease was lost: ack and drop
  kRetryLater,  ///< Redis unavailable mid-way: hand the command to the retry path
};

/// What claim.lua returned.
struct Claim {
  domain::Status status;
  std::string info_json;
  std::string servers_json;
  std::string name;
  std::string mode = "running";  ///< running | paused | standby (paused/standby: VMs only)
};

class Job : public std::enable_shared_from_this<Job> {
 public:
  Job(const JobContext& ctx, domain::Command cmd, Claim claim,
      std::function<void(JobOutcome)> done);
  void Run();
  /// Drops a pending back-off (at shutdown); the job then ends with whoever holds it.
  void Cancel() { timer_->Stop(); }

 private:
  void NextStep();
  void RunCurrentStep();
  void RunStep(const Step& step, Provider::Done done);
  void RunVms(bool start, size_t index, Provider::Done done);
  void WithRetries(std::function<void(Provider::Done)> op, Provider::Done done, int attempt = 1);
  void Write(domain::Status status, const std::string& failure, bool final,
             std::function<void()> next, int attempt = 1);
  void Finish(JobOutcome outcome);

  const JobContext& ctx_;
  domain::Command cmd_;
  Claim claim_;
  InstanceSpec spec_;
  std::vector<ServerInfo> servers_;
  Plan plan_;
  size_t step_ = 0;
  std::function<void(JobOutcome)> done_;
  std::unique_ptr<uv::Timer> timer_;
  bool finished_ = false;
  bool renewed_once_ = false;
};

}  // namespace lambda::worker

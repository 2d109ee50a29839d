#pragma once
/// The simulated cloud (SPEC §6 `sim`): latency per VM operation and per install step, failure
/// injection by `simulate.fail_at` and by a seeded transient-error rate; deterministic under a
/// seed (server ids and addresses derive from the seed and the instance id).
///
/// Its VMs exist for real in one place: a Redis key per VM (`<prefix>sim:vm:<name>`, shared by
/// every worker), or a map in the process when no Redis client is given (unit tests). Every
/// operation is one atomic exchange on that record (`SET … NX GET`, `SET … GET`, `GETDEL`), so
/// the sim is idempotent the way a real cloud is: a rerun finds what an earlier run made.
#include <uv.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>

#include "lambda/redis/async_client.h"
#include "lambda/uv/handle.h"
#include "providers/provider.h"

namespace lambda::worker {

struct SimConfig {
  uint64_t vm_op_ms = 20;  ///< default latency of one VM operation
  uint64_t step_ms = 50;   ///< default latency of one install step
  uint64_t seed = 1;
  double transient_error_rate = 0.0;  ///< probability that an operation fails transiently
};

/// `simulate` of a create body: honoured by the sim provider only.
struct SimOptions {
  std::string fail_at;
  int64_t step_ms = -1;  ///< -1 = the provider's default
};
SimOptions SimOptionsFromInfo(const std::string& info_json);

class SimProvider : public Provider {
 public:
  /// `redis` null: the VMs live in this process only.
  SimProvider(uv_loop_t* loop, SimConfig config, redis::Client* redis = nullptr,
              std::string prefix = "lambda:");
  ~SimProvider() override { *alive_ = false; }
  SimProvider(const SimProvider&) = delete;
  SimProvider& operator=(const SimProvider&) = delete;
  void CreateCluster(const Operation& op, const InstanceSpec& spec,
                     std::vector<ServerInfo>* servers, Done done) override;
  void Install(const Operation& op, const InstanceSpec& spec,
               const std::vector<ServerInfo>& servers, const std::string& step, Done done) override;
  void StartVm(const Operation& op, const InstanceSpec& spec, ServerInfo* server,
               Done done) override;
  void StopVm(const Operation& op, const InstanceSpec& spec, ServerInfo* server,
              Done done) override;
  void StartServices(const Operation& op, const InstanceSpec& spec,
                     const std::vector<ServerInfo>& servers, Done done) override;
  void StopServices(const Operation& op, const InstanceSpec& spec,
                    const std::vector<ServerInfo>& servers, Done done) override;
  void DestroyCluster(const Operation& op, const InstanceSpec& spec,
                      std::vector<ServerInfo>* servers, Done done) override;

 private:
  enum class Exchange { kCreate, kSetActive, kSetShutoff, kDelete };
  using Previous = std::function<void(Result<std::optional<std::string>>)>;
  /// One atomic exchange on a VM's record; `then` gets its previous state (nullopt: absent).
  void Swap(const std::string& vm, Exchange how, Previous then);
  /// After `ms`, runs `fn` unless a transient error is drawn (then `done` gets kUnavailable).
  /// Cancelling `op` meanwhile stops the wait: `done` gets kConflict at once.
  void After(const Operation& op, uint64_t ms, Done done, std::function<void(Done)> fn);
  uint64_t Latency(const SimOptions& sim, bool is_step) const;
  /// Creates the VMs from `index` on, one exchange each.
  void CreateFrom(const Operation& op, const std::shared_ptr<std::vector<ServerInfo>>& planned,
                  size_t index, std::vector<ServerInfo>* servers, Done done);
  void DestroyFrom(const Operation& op, const std::shared_ptr<std::vector<ServerInfo>>& planned,
                   size_t index, std::vector<ServerInfo>* servers, Done done);

  uv_loop_t* loop_;
  SimConfig config_;
  redis::Client* redis_;
  std::string prefix_;
  std::mt19937_64 rng_;
  uint64_t next_timer_ = 0;
  std::map<uint64_t, std::unique_ptr<uv::Timer>> timers_;
  std::map<std::string, std::string> local_vms_;  ///< when redis_ is null
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace lambda::worker

#pragma once
/// The simulated cloud (SPEC §6 `sim`): latency per VM operation and per install step, failure
/// injection by `simulate.fail_at` and by a seeded transient-error rate; deterministic under a
/// seed (server ids and addresses derive from the seed and the instance id).
#include <uv.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>

#include "lambda/uv/handle.h"
#include "providers/provider.h"

namespace lambda::worker {

struct SimConfig {
  uint64_t vm_op_ms = 20;  ///< default latency of one VM operation
  uint64_t step_ms = 50;   ///< default latency of one install step
  uint64_t seed = 1;
  double transient_error_rate = 0.0;  ///< probability that an operation fails transiently
};

class SimProvider : public Provider {
 public:
  SimProvider(uv_loop_t* loop, SimConfig config);
  void CreateCluster(const InstanceSpec& spec, std::vector<ServerInfo>* servers,
                     Done done) override;
  void Install(const InstanceSpec& spec, const std::string& step, Done done) override;
  void StartVm(const InstanceSpec& spec, ServerInfo* server, Done done) override;
  void StopVm(const InstanceSpec& spec, ServerInfo* server, Done done) override;
  void StartServices(const InstanceSpec& spec, Done done) override;
  void StopServices(const InstanceSpec& spec, Done done) override;
  void DestroyCluster(const InstanceSpec& spec, std::vector<ServerInfo>* servers,
                      Done done) override;

 private:
  /// After `ms`, runs `fn` unless a transient error is drawn (then `done` gets kUnavailable).
  void After(uint64_t ms, Done done, std::function<Status()> fn);
  uint64_t Latency(const InstanceSpec& spec, bool is_step) const;

  uv_loop_t* loop_;
  SimConfig config_;
  std::mt19937_64 rng_;
  uint64_t next_timer_ = 0;
  std::map<uint64_t, std::unique_ptr<uv::Timer>> timers_;
};

}  // namespace lambda::worker

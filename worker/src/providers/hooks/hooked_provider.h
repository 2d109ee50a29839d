#pragma once
/// Service hooks around any provider (SPEC §6, `LAMBDA_HOOKS_DIR`): after the provider's own
/// install step runs the hook named after it (`init`, `commons`, `hadoop`, `kafka`, `flink`),
/// after StartServices `start-services`, before StopServices `stop-services`. A hook's failure
/// fails the step with the tail of its stderr (or "timed out after N ms") as the message; VM
/// operations pass straight through.
#include <memory>

#include "providers/hooks/hook_runner.h"
#include "providers/provider.h"

namespace lambda::worker {

/// The environment a hook sees: PATH, HOME, LANG and the worker's `HOOK_*` variables, plus the
/// instance's facts (LAMBDA_INSTANCE_ID, …, LAMBDA_SERVERS as JSON). Pure, for tests.
std::vector<std::string> HookEnvironment(const Operation& op, const InstanceSpec& spec,
                                         const std::vector<ServerInfo>& servers,
                                         const std::string& step, char** inherited);
/// The failure_message of a failed run: the stderr tail (else stdout's), trimmed, or why.
std::string HookFailure(const std::string& name, const HookResult& r, uint64_t timeout_ms);

class HookedProvider : public Provider {
 public:
  HookedProvider(Provider* inner, HookRunner* hooks) : inner_(inner), hooks_(hooks) {}
  void CreateCluster(const Operation& op, const InstanceSpec& spec,
                     std::vector<ServerInfo>* servers, Done done) override {
    inner_->CreateCluster(op, spec, servers, std::move(done));
  }
  void Install(const Operation& op, const InstanceSpec& spec,
               const std::vector<ServerInfo>& servers, const std::string& step, Done done) override;
  void StartVm(const Operation& op, const InstanceSpec& spec, ServerInfo* server,
               Done done) override {
    inner_->StartVm(op, spec, server, std::move(done));
  }
  void StopVm(const Operation& op, const InstanceSpec& spec, ServerInfo* server,
              Done done) override {
    inner_->StopVm(op, spec, server, std::move(done));
  }
  void StartServices(const Operation& op, const InstanceSpec& spec,
                     const std::vector<ServerInfo>& servers, Done done) override;
  void StopServices(const Operation& op, const InstanceSpec& spec,
                    const std::vector<ServerInfo>& servers, Done done) override;
  void DestroyCluster(const Operation& op, const InstanceSpec& spec,
                      std::vector<ServerInfo>* servers, Done done) override {
    inner_->DestroyCluster(op, spec, servers, std::move(done));
  }

 private:
  void RunHook(const Operation& op, const InstanceSpec& spec,
               const std::vector<ServerInfo>& servers, const std::string& name,
               const std::string& step, Done done);

  Provider* inner_;
  HookRunner* hooks_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

 public:
  ~HookedProvider() override { *alive_ = false; }
  HookedProvider(const HookedProvider&) = delete;
  HookedProvider& operator=(const HookedProvider&) = delete;
};

}  // namespace lambda::worker

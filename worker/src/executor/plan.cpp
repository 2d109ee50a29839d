#include "executor/plan.h"

#include <cctype>

namespace lambda::worker {

using domain::Action;
using domain::InstanceStatus;

Plan MakePlan(Action action, InstanceStatus current, bool services) {
  Plan p;
  switch (action) {
    // A cancel's admission wrote the transitional status its rollback runs under (SPEC §4.5,
    // domain::CancelTo): a create in progress is destroyed, a start stopped, a stop started.
    case Action::kCancel:
      switch (current) {
        case InstanceStatus::kDestroying:
          return MakePlan(Action::kDestroy, current, services);
        case InstanceStatus::kStopping:
          return MakePlan(Action::kStop, current, services);
        case InstanceStatus::kStarting:
          return MakePlan(Action::kStart, current, services);
        default:
          p.final_status = current;
          return p;  // not a rollback in progress (a stale copy): nothing to do
      }
    case Action::kCreate: {
      p.final_status = InstanceStatus::kStarted;
      // Resume after the last build step whose status was written.
      bool reached = current == InstanceStatus::kPending;
      for (const auto& step : domain::CreateSteps()) {
        if (reached) {
          Step s{step.key == "CLUSTER" ? StepKind::kCreateCluster : StepKind::kInstall,
                 std::string(step.key), step.done, step.failed};
          p.steps.push_back(std::move(s));
        }
        if (step.done == current) reached = true;
      }
      if (!reached) p.steps.clear();  // not a create in progress: nothing left to do
      return p;
    }
    case Action::kStart:
      p.final_status = InstanceStatus::kStarted;
      p.steps = {{StepKind::kStartVms, {}, std::nullopt, InstanceStatus::kFailed}};
      if (services)
        p.steps.push_back({StepKind::kStartServices, {}, std::nullopt, InstanceStatus::kFailed});
      return p;
    case Action::kStop:
      p.final_status = InstanceStatus::kStopped;
      p.steps = {{StepKind::kStopServices, {}, std::nullopt, InstanceStatus::kFailed},
                 {StepKind::kStopVms, {}, std::nullopt, InstanceStatus::kFailed}};
      return p;
    case Action::kDestroy:
      p.final_status = InstanceStatus::kDestroyed;
      p.steps = {{StepKind::kDestroyCluster, {}, std::nullopt, InstanceStatus::kFailed}};
      return p;
    // Feldera's pause and resume (SPEC §4.3): the services only; the VMs keep running.
    case Action::kPause:
      p.final_status = InstanceStatus::kStarted;
      p.final_mode = "paused";
      p.steps = {{StepKind::kStopServices, {}, std::nullopt, InstanceStatus::kFailed}};
      return p;
    case Action::kResume:
      p.final_status = InstanceStatus::kStarted;
      p.final_mode = "running";
      p.steps = {{StepKind::kStartServices, {}, std::nullopt, InstanceStatus::kFailed}};
      return p;
  }
  return p;
}

const char* StepName(StepKind k) {
  switch (k) {
    case StepKind::kCreateCluster:
      return "create_cluster";
    case StepKind::kInstall:
      return "install";
    case StepKind::kStartVms:
      return "start_vms";
    case StepKind::kStopVms:
      return "stop_vms";
    case StepKind::kStartServices:
      return "start_services";
    case StepKind::kStopServices:
      return "stop_services";
    case StepKind::kDestroyCluster:
      return "destroy_cluster";
  }
  return "unknown";
}

std::string TenantFailure(const Step& step, std::string_view error_id) {
  std::string name = StepName(step.kind);
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (step.kind == StepKind::kInstall) name += " " + step.install_key;
  return "Step " + name + " failed (error id " + std::string(error_id) +
         "); the operator has the details under this id.";
}

}  // namespace lambda::worker

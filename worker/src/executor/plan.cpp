#include "executor/plan.h"

namespace lambda::worker {

using domain::Action;
using domain::Status;

Plan MakePlan(Action action, Status current, bool services) {
  Plan p;
  switch (action) {
    case Action::kCreate: {
      p.final_status = Status::kStarted;
      // Resume after the last build step whose status was written.
      bool reached = current == Status::kPending;
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
      p.final_status = Status::kStarted;
      p.steps = {{StepKind::kStartVms, {}, std::nullopt, Status::kFailed}};
      if (services)
        p.steps.push_back({StepKind::kStartServices, {}, std::nullopt, Status::kFailed});
      return p;
    case Action::kStop:
      p.final_status = Status::kStopped;
      p.steps = {{StepKind::kStopServices, {}, std::nullopt, Status::kFailed},
                 {StepKind::kStopVms, {}, std::nullopt, Status::kFailed}};
      return p;
    case Action::kDestroy:
      p.final_status = Status::kDestroyed;
      p.steps = {{StepKind::kDestroyCluster, {}, std::nullopt, Status::kFailed}};
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

}  // namespace lambda::worker

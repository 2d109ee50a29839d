#pragma once
/// The steps of each action (SPEC §2 lifecycles), as data: pure, unit-tested without I/O.
/// A plan resumes from the status a redelivered command finds, so no step is applied twice.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lambda/domain/status.h"

namespace lambda::worker {

enum class StepKind {
  kCreateCluster,
  kInstall,
  kStartVms,  ///< master first, then slaves
  kStopVms,   ///< master first, then slaves
  kStartServices,
  kStopServices,
  kDestroyCluster,
};

struct Step {
  StepKind kind;
  std::string install_key;  ///< kInstall: INIT, COMMONS, HADOOP, KAFKA, FLINK
  std::optional<domain::InstanceStatus> on_success;  ///< a status written when the step is done
  domain::InstanceStatus on_failure{};               ///< the final status when the step fails
};

struct Plan {
  std::vector<Step> steps;
  domain::InstanceStatus final_status{};
  /// The Feldera run mode the final write records ("" = unchanged): a pause ends "paused", a
  /// resume "running" (a start's mode is recorded at its admission).
  std::string final_mode;
};

/// The remaining plan of `action` given the instance's current status. `services` false (a
/// paused or standby start) starts the VMs but not the services.
Plan MakePlan(domain::Action action, domain::InstanceStatus current, bool services = true);
const char* StepName(StepKind k);
/// What the tenant reads when `step` failed (SPEC §8): the step and an error id, never the
/// provider's own text (a hook's stderr, a cloud's error body), which goes to the worker's log
/// and the instance's ledger under the same id.
std::string TenantFailure(const Step& step, std::string_view error_id);

}  // namespace lambda::worker

#pragma once
/// The dialects' status rules (SPEC §4.2, §4.3), derived from the one status table so that no
/// route module carries its own copy of domain knowledge.
#include <string>
#include <string_view>
#include <vector>

#include "lambda/domain/status.h"

namespace lambda::domain {

/// The allowed-from set as the admission scripts take it: ",1,9," (codes, comma-delimited).
std::string AllowedSet(const std::vector<InstanceStatus>& statuses);

namespace feldera {
/// The pipeline is (or will be) running: a start is then answered without a new admission.
bool BecomingStarted(InstanceStatus s);
/// Stop supersedes anything on its way up: a start, or a create that has not failed.
std::vector<InstanceStatus> StopFrom();
/// Where `dismiss_error` may clear a failure_message: fully stopped (deployment status and
/// desired status both Stopped), as Feldera requires; DESTROYED reads as no pipeline at all.
std::vector<InstanceStatus> DismissFrom();
}  // namespace feldera

namespace zenlayer {
/// StartVmInstances from STOPPED only, StopVmInstances from RUNNING only (the API's rule).
std::vector<InstanceStatus> AllowedFrom(Action action);
/// The VM API's instanceStatus for one of ours.
std::string_view StatusName(InstanceStatus s);
}  // namespace zenlayer

}  // namespace lambda::domain

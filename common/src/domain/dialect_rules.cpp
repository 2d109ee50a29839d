#include "lambda/domain/dialect_rules.h"

namespace lambda::domain {

std::string AllowedSet(const std::vector<InstanceStatus>& statuses) {
  std::string set = ",";
  for (auto s : statuses) set += std::to_string(CodeOf(s)) + ",";
  return set;
}

namespace feldera {

bool BecomingStarted(InstanceStatus s) {
  return s == InstanceStatus::kStarted || s == InstanceStatus::kStarting ||
         s == InstanceStatus::kScalingUp || s == InstanceStatus::kScalingDown ||
         (!IsSettled(s) && s != InstanceStatus::kStopping && s != InstanceStatus::kDestroying);
}

std::vector<InstanceStatus> StopFrom() {
  std::vector<InstanceStatus> out{InstanceStatus::kStarted, InstanceStatus::kFailed,
                                  InstanceStatus::kStarting, InstanceStatus::kPending};
  for (const auto& step : CreateSteps()) out.push_back(step.done);
  return out;
}

std::vector<InstanceStatus> DismissFrom() {
  std::vector<InstanceStatus> out{InstanceStatus::kStopped, InstanceStatus::kFailed};
  for (const auto& step : CreateSteps()) out.push_back(step.failed);
  return out;
}

}  // namespace feldera

namespace zenlayer {

std::vector<InstanceStatus> AllowedFrom(Action action) {
  return {action == Action::kStart ? InstanceStatus::kStopped : InstanceStatus::kStarted};
}

std::string_view StatusName(InstanceStatus s) {
  switch (s) {
    case InstanceStatus::kStarting:
      return "BOOTING";
    case InstanceStatus::kStarted:
      return "RUNNING";
    case InstanceStatus::kStopping:
      return "STOPPING";
    case InstanceStatus::kStopped:
      return "STOPPED";
    case InstanceStatus::kDestroying:
      return "RELEASING";
    case InstanceStatus::kDestroyed:
      return "RELEASED";
    case InstanceStatus::kFailed:
      return "FAILED";
    case InstanceStatus::kScalingUp:
    case InstanceStatus::kScalingDown:
      return "RESIZING";
    default:
      return IsBuildFailure(s) ? "CREATE_FAILED" : "CREATING";
  }
}

}  // namespace zenlayer
}  // namespace lambda::domain

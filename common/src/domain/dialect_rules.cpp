#include "lambda/domain/dialect_rules.h"

namespace lambda::domain {

std::string AllowedSet(const std::vector<Status>& statuses) {
  std::string set = ",";
  for (auto s : statuses) set += std::to_string(CodeOf(s)) + ",";
  return set;
}

namespace feldera {

bool BecomingStarted(Status s) {
  return s == Status::kStarted || s == Status::kStarting || s == Status::kScalingUp ||
         s == Status::kScalingDown ||
         (!IsSettled(s) && s != Status::kStopping && s != Status::kDestroying);
}

std::vector<Status> StopFrom() {
  std::vector<Status> out{Status::kStarted, Status::kFailed, Status::kStarting, Status::kPending};
  for (const auto& step : CreateSteps()) out.push_back(step.done);
  return out;
}

}  // namespace feldera

namespace zenlayer {

std::vector<Status> AllowedFrom(Action action) {
  return {action == Action::kStart ? Status::kStopped : Status::kStarted};
}

std::string_view StatusName(Status s) {
  switch (s) {
    case Status::kStarting:
      return "BOOTING";
    case Status::kStarted:
      return "RUNNING";
    case Status::kStopping:
      return "STOPPING";
    case Status::kStopped:
      return "STOPPED";
    case Status::kDestroying:
      return "RELEASING";
    case Status::kDestroyed:
      return "RELEASED";
    case Status::kFailed:
      return "FAILED";
    case Status::kScalingUp:
    case Status::kScalingDown:
      return "RESIZING";
    default:
      return IsBuildFailure(s) ? "CREATE_FAILED" : "CREATING";
  }
}

}  // namespace zenlayer
}  // namespace lambda::domain

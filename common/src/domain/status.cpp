#include "lambda/domain/status.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace lambda::domain {
namespace {

constexpr std::array<StatusInfo, kStatusCount> kTable{{
    {InstanceStatus::kStarted, "STARTED", "Lambda instance has been started"},
    {InstanceStatus::kStopped, "STOPPED", "Lambda instance has been stopped"},
    {InstanceStatus::kPending, "PENDING", "Lambda instance installation is pending"},
    {InstanceStatus::kStarting, "STARTING", "Lambda instance is starting"},
    {InstanceStatus::kStopping, "STOPPING", "Lambda instance is stopping"},
    {InstanceStatus::kDestroying, "DESTROYING", "Lambda instance is being destroyed"},
    {InstanceStatus::kDestroyed, "DESTROYED", "Lambda instance has been destroyed"},
    {InstanceStatus::kScalingUp, "SCALING_UP", "Lambda instance is being scaled up"},
    {InstanceStatus::kScalingDown, "SCALING_DOWN", "Lambda instance is being scaled down"},
    {InstanceStatus::kFailed, "FAILED", "Lambda instance has failed"},
    {InstanceStatus::kClusterCreated, "CLUSTER_CREATED",
     "~okeanos cluster has been successfully built"},
    {InstanceStatus::kClusterFailed, "CLUSTER_FAILED", "~okeanos cluster build has failed"},
    {InstanceStatus::kInitDone, "INIT_DONE", "~okeanos cluster has been successfully initialized"},
    {InstanceStatus::kInitFailed, "INIT_FAILED", "~okeanos cluster initialization has failed"},
    {InstanceStatus::kCommonsInstalled, "COMMONS_INSTALLED",
     "Common libraries have been successfully installed"},
    {InstanceStatus::kCommonsFailed, "COMMONS_FAILED", "Common libraries installation has failed"},
    {InstanceStatus::kHadoopInstalled, "HADOOP_INSTALLED",
     "Apache Hadoop has been successfully installed and configured"},
    {InstanceStatus::kHadoopFailed, "HADOOP_FAILED",
     "Apache Hadoop installation and configuration have failed"},
    {InstanceStatus::kKafkaInstalled, "KAFKA_INSTALLED",
     "Apache Kafka has been successfully installed and configured"},
    {InstanceStatus::kKafkaFailed, "KAFKA_FAILED",
     "Apache Kafka installation and configuration have failed"},
    {InstanceStatus::kFlinkInstalled, "FLINK_INSTALLED",
     "Apache Flink has been successfully installed and configured"},
    {InstanceStatus::kFlinkFailed, "FLINK_FAILED",
     "Apache Flink installation and configuration have failed"},
}};

constexpr std::array<BuildStep, 6> kCreateSteps{{
    {"CLUSTER", InstanceStatus::kClusterCreated, InstanceStatus::kClusterFailed},
    {"INIT", InstanceStatus::kInitDone, InstanceStatus::kInitFailed},
    {"COMMONS", InstanceStatus::kCommonsInstalled, InstanceStatus::kCommonsFailed},
    {"HADOOP", InstanceStatus::kHadoopInstalled, InstanceStatus::kHadoopFailed},
    {"KAFKA", InstanceStatus::kKafkaInstalled, InstanceStatus::kKafkaFailed},
    {"FLINK", InstanceStatus::kFlinkInstalled, InstanceStatus::kFlinkFailed},
}};

struct ActionRule {
  Action action;
  std::string_view verb;
  InstanceStatus already;  ///< the status that answers "already ..."
  std::string_view already_text;
  InstanceStatus transitional;
};

constexpr std::array<ActionRule, 3> kRules{{
    {Action::kStart, "start", InstanceStatus::kStarted,
     "The specified lambda instance is already started.", InstanceStatus::kStarting},
    {Action::kStop, "stop", InstanceStatus::kStopped,
     "The specified lambda instance is already stopped.", InstanceStatus::kStopping},
    {Action::kDestroy, "destroy", InstanceStatus::kDestroyed,
     "The specified lambda instance is already destroyed.", InstanceStatus::kDestroying},
}};

const ActionRule* RuleFor(Action a) {
  for (const auto& r : kRules) {
    if (r.action == a) return &r;
  }
  return nullptr;
}

bool AllowedFromStatus(Action a, InstanceStatus s) {
  switch (a) {
    case Action::kStart:
      return s == InstanceStatus::kStopped || s == InstanceStatus::kFailed;
    case Action::kStop:
      return s == InstanceStatus::kStarted || s == InstanceStatus::kFailed;
    case Action::kDestroy:
      return IsSettled(s) && s != InstanceStatus::kDestroyed;
    case Action::kPause:
    case Action::kResume:
      return s == InstanceStatus::kStarted;
    case Action::kCancel:
      return CancelTo(s).has_value();
    case Action::kCreate:
      return false;
  }
  return false;
}

}  // namespace

std::optional<InstanceStatus> CancelTo(InstanceStatus current) {
  switch (current) {
    case InstanceStatus::kPending:
      return InstanceStatus::kDestroying;
    case InstanceStatus::kStarting:
      return InstanceStatus::kStopping;
    case InstanceStatus::kStopping:
      return InstanceStatus::kStarting;
    default:
      break;
  }
  // A build step done (CLUSTER_CREATED … FLINK_INSTALLED): the create is still on its way.
  for (const auto& step : kCreateSteps) {
    if (step.done == current) return InstanceStatus::kDestroying;
  }
  return std::nullopt;
}

const StatusInfo& Info(InstanceStatus s) { return kTable[static_cast<size_t>(s)]; }

std::optional<InstanceStatus> FromCode(int code) {
  if (code < 0 || code >= kStatusCount) return std::nullopt;
  return static_cast<InstanceStatus>(code);
}

std::optional<InstanceStatus> FromName(std::string_view name) {
  for (const auto& i : kTable) {
    if (i.name == name) return i.status;
  }
  return std::nullopt;
}

bool IsBuildFailure(InstanceStatus s) {
  for (const auto& step : kCreateSteps) {
    if (step.failed == s) return true;
  }
  return false;
}

bool IsSettled(InstanceStatus s) {
  return s == InstanceStatus::kStarted || s == InstanceStatus::kStopped ||
         s == InstanceStatus::kFailed || s == InstanceStatus::kDestroyed || IsBuildFailure(s);
}

std::string_view ActionName(Action a) {
  switch (a) {
    case Action::kCreate:
      return "create";
    case Action::kStart:
      return "start";
    case Action::kStop:
      return "stop";
    case Action::kDestroy:
      return "destroy";
    case Action::kPause:
      return "pause";
    case Action::kResume:
      return "resume";
    case Action::kCancel:
      return "cancel";
  }
  return "create";
}

std::optional<Action> ParseAction(std::string_view name) {
  if (name == "create") return Action::kCreate;
  if (name == "start") return Action::kStart;
  if (name == "stop") return Action::kStop;
  if (name == "destroy") return Action::kDestroy;
  if (name == "pause") return Action::kPause;
  if (name == "resume") return Action::kResume;
  if (name == "cancel") return Action::kCancel;
  return std::nullopt;
}

AdmitDecision Admit(Action action, InstanceStatus current) {
  if (action == Action::kCancel) {
    if (auto to = CancelTo(current)) return {AdmitOutcome::kAdmitted, *to, {}};
    return {AdmitOutcome::kConflict, current,
            "Can't cancel a lambda instance while lambda instance status is " +
                std::string(Info(current).name) + "."};
  }
  const ActionRule* rule = RuleFor(action);
  if (rule == nullptr) return {AdmitOutcome::kConflict, current, "Unsupported action."};
  if (AllowedFromStatus(action, current)) return {AdmitOutcome::kAdmitted, rule->transitional, {}};
  if (current == rule->already) {
    return {AdmitOutcome::kAlreadyThere, current, std::string(rule->already_text)};
  }
  std::string msg = "Can't ";
  msg += rule->verb;
  msg += " a lambda instance while lambda instance status is ";
  msg += Info(current).name;
  msg += ".";
  return {AdmitOutcome::kConflict, current, std::move(msg)};
}

std::vector<InstanceStatus> AllowedFrom(Action action) {
  std::vector<InstanceStatus> out;
  for (const auto& i : kTable) {
    if (AllowedFromStatus(action, i.status)) out.push_back(i.status);
  }
  return out;
}

InstanceStatus TransitionalStatus(Action action) {
  if (action == Action::kCreate) return InstanceStatus::kPending;
  // A pause or resume stays STARTED (the VMs run throughout); the pending command says which.
  if (action == Action::kPause || action == Action::kResume) return InstanceStatus::kStarted;
  // Where a cancel goes depends on where the instance is (CancelTo); admit_cancel.lua knows.
  if (action == Action::kCancel) return InstanceStatus::kDestroying;
  return RuleFor(action)->transitional;
}

std::span<const BuildStep> CreateSteps() { return kCreateSteps; }

Result<std::string> LuaStatusConstants(std::string_view script) {
  std::string out;
  std::vector<std::string_view> seen;
  for (size_t at = script.find("S_"); at != std::string_view::npos; at = script.find("S_", at)) {
    // A whole identifier only: not the tail of another one (e.g. "ARGS_").
    bool starts_word = at == 0 || !(std::isalnum(static_cast<unsigned char>(script[at - 1])) ||
                                    script[at - 1] == '_');
    size_t end = at + 2;
    while (end < script.size() &&
           (std::isupper(static_cast<unsigned char>(script[end])) || script[end] == '_')) {
      ++end;
    }
    std::string_view name = script.substr(at + 2, end - at - 2);
    at = end;
    if (!starts_word || name.empty()) continue;
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
    auto status = FromName(name);
    if (!status)
      return Error{Code::kInvalidArgument, "S_" + std::string(name) + " is not a status"};
    seen.push_back(name);
    out += "local S_" + std::string(name) + " = '" + std::to_string(CodeOf(*status)) + "'\n";
  }
  return out;
}

}  // namespace lambda::domain

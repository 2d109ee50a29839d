#include "lambda/domain/status.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace lambda::domain {
namespace {

constexpr std::array<StatusInfo, kStatusCount> kTable{{
    {Status::kStarted, "STARTED", "Lambda instance has been started"},
    {Status::kStopped, "STOPPED", "Lambda instance has been stopped"},
    {Status::kPending, "PENDING", "Lambda instance installation is pending"},
    {Status::kStarting, "STARTING", "Lambda instance is starting"},
    {Status::kStopping, "STOPPING", "Lambda instance is stopping"},
    {Status::kDestroying, "DESTROYING", "Lambda instance is being destroyed"},
    {Status::kDestroyed, "DESTROYED", "Lambda instance has been destroyed"},
    {Status::kScalingUp, "SCALING_UP", "Lambda instance is being scaled up"},
    {Status::kScalingDown, "SCALING_DOWN", "Lambda instance is being scaled down"},
    {Status::kFailed, "FAILED", "Lambda instance has failed"},
    {Status::kClusterCreated, "CLUSTER_CREATED", "~okeanos cluster has been successfully built"},
    {Status::kClusterFailed, "CLUSTER_FAILED", "~okeanos cluster build has failed"},
    {Status::kInitDone, "INIT_DONE", "~okeanos cluster has been successfully initialized"},
    {Status::kInitFailed, "INIT_FAILED", "~okeanos cluster initialization has failed"},
    {Status::kCommonsInstalled, "COMMONS_INSTALLED",
     "Common libraries have been successfully installed"},
    {Status::kCommonsFailed, "COMMONS_FAILED", "Common libraries installation has failed"},
    {Status::kHadoopInstalled, "HADOOP_INSTALLED",
     "Apache Hadoop has been successfully installed and configured"},
    {Status::kHadoopFailed, "HADOOP_FAILED",
     "Apache Hadoop installation and configuration have failed"},
    {Status::kKafkaInstalled, "KAFKA_INSTALLED",
     "Apache Kafka has been successfully installed and configured"},
    {Status::kKafkaFailed, "KAFKA_FAILED",
     "Apache Kafka installation and configuration have failed"},
    {Status::kFlinkInstalled, "FLINK_INSTALLED",
     "Apache Flink has been successfully installed and configured"},
    {Status::kFlinkFailed, "FLINK_FAILED",
     "Apache Flink installation and configuration have failed"},
}};

constexpr std::array<BuildStep, 6> kCreateSteps{{
    {"CLUSTER", Status::kClusterCreated, Status::kClusterFailed},
    {"INIT", Status::kInitDone, Status::kInitFailed},
    {"COMMONS", Status::kCommonsInstalled, Status::kCommonsFailed},
    {"HADOOP", Status::kHadoopInstalled, Status::kHadoopFailed},
    {"KAFKA", Status::kKafkaInstalled, Status::kKafkaFailed},
    {"FLINK", Status::kFlinkInstalled, Status::kFlinkFailed},
}};

struct ActionRule {
  Action action;
  std::string_view verb;
  Status already;  ///< the status that answers "already ..."
  std::string_view already_text;
  Status transitional;
};

constexpr std::array<ActionRule, 3> kRules{{
    {Action::kStart, "start", Status::kStarted, "The specified lambda instance is already started.",
     Status::kStarting},
    {Action::kStop, "stop", Status::kStopped, "The specified lambda instance is already stopped.",
     Status::kStopping},
    {Action::kDestroy, "destroy", Status::kDestroyed,
     "The specified lambda instance is already destroyed.", Status::kDestroying},
}};

const ActionRule* RuleFor(Action a) {
  for (const auto& r : kRules) {
    if (r.action == a) return &r;
  }
  return nullptr;
}

bool AllowedFromStatus(Action a, Status s) {
  switch (a) {
    case Action::kStart:
      return s == Status::kStopped || s == Status::kFailed;
    case Action::kStop:
      return s == Status::kStarted || s == Status::kFailed;
    case Action::kDestroy:
      return IsSettled(s) && s != Status::kDestroyed;
    case Action::kCreate:
      return false;
  }
  return false;
}

}  // namespace

const StatusInfo& Info(Status s) { return kTable[static_cast<size_t>(s)]; }

std::optional<Status> FromCode(int code) {
  if (code < 0 || code >= kStatusCount) return std::nullopt;
  return static_cast<Status>(code);
}

std::optional<Status> FromName(std::string_view name) {
  for (const auto& i : kTable) {
    if (i.name == name) return i.status;
  }
  return std::nullopt;
}

bool IsBuildFailure(Status s) {
  for (const auto& step : kCreateSteps) {
    if (step.failed == s) return true;
  }
  return false;
}

bool IsSettled(Status s) {
  return s == Status::kStarted || s == Status::kStopped || s == Status::kFailed ||
         s == Status::kDestroyed || IsBuildFailure(s);
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
  }
  return "create";
}

std::optional<Action> ParseAction(std::string_view name) {
  if (name == "create") return Action::kCreate;
  if (name == "start") return Action::kStart;
  if (name == "stop") return Action::kStop;
  if (name == "destroy") return Action::kDestroy;
  return std::nullopt;
}

AdmitDecision Admit(Action action, Status current) {
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

std::vector<Status> AllowedFrom(Action action) {
  std::vector<Status> out;
  for (const auto& i : kTable) {
    if (AllowedFromStatus(action, i.status)) out.push_back(i.status);
  }
  return out;
}

Status TransitionalStatus(Action action) {
  if (action == Action::kCreate) return Status::kPending;
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

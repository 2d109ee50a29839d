#pragma once
/// The status vocabulary and the admission table of SPEC §2: data plus pure functions, no I/O.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lambda/result.h"

namespace lambda::domain {

enum class InstanceStatus : int {
  kStarted = 0,
  kStopped = 1,
  kPending = 2,
  kStarting = 3,
  kStopping = 4,
  kDestroying = 5,
  kDestroyed = 6,
  kScalingUp = 7,
  kScalingDown = 8,
  kFailed = 9,
  kClusterCreated = 10,
  kClusterFailed = 11,
  kInitDone = 12,
  kInitFailed = 13,
  kCommonsInstalled = 14,
  kCommonsFailed = 15,
  kHadoopInstalled = 16,
  kHadoopFailed = 17,
  kKafkaInstalled = 18,
  kKafkaFailed = 19,
  kFlinkInstalled = 20,
  kFlinkFailed = 21,
};
inline constexpr int kStatusCount = 22;

struct StatusInfo {
  InstanceStatus status;
  std::string_view name;
  std::string_view detail;
};

const StatusInfo& Info(InstanceStatus s);
std::optional<InstanceStatus> FromCode(int code);
std::optional<InstanceStatus> FromName(std::string_view name);
inline int CodeOf(InstanceStatus s) { return static_cast<int>(s); }

/// Lua definitions of the status constants a script uses: "local S_DESTROYED = '6'\n" for each
/// S_<NAME> in `script`, <NAME> being a status name of the table. An unknown name is an error.
Result<std::string> LuaStatusConstants(std::string_view script);

/// Settled: an action may be admitted from it (STARTED, STOPPED, FAILED, DESTROYED, *_FAILED).
bool IsSettled(InstanceStatus s);
bool IsBuildFailure(InstanceStatus s);  ///< one of the *_FAILED statuses of create

/// kPause / kResume are the Feldera dialect's (SPEC §4.3): within STARTED, services stopped or
/// started again with the VMs kept; they have no row in the §2 table. kCancel (SPEC §4.5) rolls
/// a transitional instance back to where it was (CancelTo).
enum class Action { kCreate, kStart, kStop, kDestroy, kPause, kResume, kCancel };
inline constexpr int kActionCount = 7;
inline constexpr Action kAllActions[kActionCount] = {
    Action::kCreate, Action::kStart,  Action::kStop,  Action::kDestroy,
    Action::kPause,  Action::kResume, Action::kCancel};
std::string_view ActionName(Action a);
std::optional<Action> ParseAction(std::string_view name);

enum class AdmitOutcome { kAdmitted, kAlreadyThere, kConflict };
struct AdmitDecision {
  AdmitOutcome outcome;
  InstanceStatus next;  ///< the transitional status written when admitted
  std::string message;  ///< the 409 text when not admitted
};

/// Admission of a start/stop/destroy from the current status (SPEC §2 table).
AdmitDecision Admit(Action action, InstanceStatus current);
/// The statuses from which `action` is admitted; Lua gets these as arguments.
std::vector<InstanceStatus> AllowedFrom(Action action);
/// The transitional status an admitted action writes at once (a cancel's depends on where the
/// instance is: CancelTo).
InstanceStatus TransitionalStatus(Action action);
/// A cancel of an instance in `current` (SPEC §4.5): the transitional status its rollback runs
/// under, which also names the rollback — a create in progress (PENDING or a build step done)
/// is destroyed (DESTROYING → DESTROYED), a start stopped again (STOPPING → STOPPED), a stop
/// started again (STARTING → STARTED). nullopt: nothing to cancel (settled, or DESTROYING and
/// SCALING_*, which cannot be undone).
std::optional<InstanceStatus> CancelTo(InstanceStatus current);

/// One step of the create lifecycle: the status written on success and on failure.
struct BuildStep {
  std::string_view key;  ///< CLUSTER, INIT, COMMONS, HADOOP, KAFKA, FLINK (simulate.fail_at)
  InstanceStatus done;
  InstanceStatus failed;
};
std::span<const BuildStep> CreateSteps();

}  // namespace lambda::domain

#include "executor/plan.h"

#include <gtest/gtest.h>

namespace lambda::worker {
namespace {

using domain::Action;
using domain::InstanceStatus;

TEST(Plan, CreateRunsEveryBuildStepThenStarted) {
  auto p = MakePlan(Action::kCreate, InstanceStatus::kPending);
  ASSERT_EQ(p.steps.size(), 6u);
  EXPECT_EQ(p.steps[0].kind, StepKind::kCreateCluster);
  EXPECT_EQ(*p.steps[0].on_success, InstanceStatus::kClusterCreated);
  EXPECT_EQ(p.steps[0].on_failure, InstanceStatus::kClusterFailed);
  EXPECT_EQ(p.steps[5].install_key, "FLINK");
  EXPECT_EQ(p.final_status, InstanceStatus::kStarted);
}

TEST(Plan, CreateResumesAfterTheLastWrittenStep) {
  auto p = MakePlan(Action::kCreate, InstanceStatus::kHadoopInstalled);
  ASSERT_EQ(p.steps.size(), 2u);
  EXPECT_EQ(p.steps[0].install_key, "KAFKA");
  EXPECT_TRUE(MakePlan(Action::kCreate, InstanceStatus::kFlinkInstalled).steps.empty());
  EXPECT_TRUE(MakePlan(Action::kCreate, InstanceStatus::kStopped).steps.empty());
}

TEST(Plan, StartStopDestroyOrder) {
  auto start = MakePlan(Action::kStart, InstanceStatus::kStarting);
  ASSERT_EQ(start.steps.size(), 2u);
  EXPECT_EQ(start.steps[0].kind, StepKind::kStartVms);  // VMs first, then services
  EXPECT_EQ(start.steps[1].kind, StepKind::kStartServices);
  EXPECT_EQ(start.final_status, InstanceStatus::kStarted);
  auto stop = MakePlan(Action::kStop, InstanceStatus::kStopping);
  EXPECT_EQ(stop.steps[0].kind, StepKind::kStopServices);  // services first, then VMs
  EXPECT_EQ(stop.steps[1].kind, StepKind::kStopVms);
  EXPECT_EQ(stop.steps[0].on_failure, InstanceStatus::kFailed);
  auto destroy = MakePlan(Action::kDestroy, InstanceStatus::kDestroying);
  EXPECT_EQ(destroy.final_status, InstanceStatus::kDestroyed);
}

TEST(Plan, PauseAndResumeTouchOnlyTheServices) {
  auto pause = MakePlan(Action::kPause, InstanceStatus::kStarted);
  ASSERT_EQ(pause.steps.size(), 1u);
  EXPECT_EQ(pause.steps[0].kind, StepKind::kStopServices);
  EXPECT_EQ(pause.steps[0].on_failure, InstanceStatus::kFailed);
  EXPECT_EQ(pause.final_status, InstanceStatus::kStarted);  // the VMs keep running
  EXPECT_EQ(pause.final_mode, "paused");
  auto resume = MakePlan(Action::kResume, InstanceStatus::kStarted);
  ASSERT_EQ(resume.steps.size(), 1u);
  EXPECT_EQ(resume.steps[0].kind, StepKind::kStartServices);
  EXPECT_EQ(resume.final_status, InstanceStatus::kStarted);
  EXPECT_EQ(resume.final_mode, "running");
  // The other actions leave the mode as their admission recorded it.
  EXPECT_EQ(MakePlan(Action::kStart, InstanceStatus::kStarting).final_mode, "");
  EXPECT_EQ(MakePlan(Action::kStop, InstanceStatus::kStopping).final_mode, "");
}

TEST(Plan, ATenantReadsTheFailedStepAndAnErrorIdOnly) {
  Step install{StepKind::kInstall, "KAFKA", std::nullopt, InstanceStatus::kFailed};
  EXPECT_EQ(
      TenantFailure(install, "e-1"),
      "Step INSTALL KAFKA failed (error id e-1); the operator has the details under this id.");
  Step cluster{StepKind::kCreateCluster, "CLUSTER", std::nullopt, InstanceStatus::kFailed};
  EXPECT_EQ(TenantFailure(cluster, "e-2").rfind("Step CREATE_CLUSTER failed (error id e-2)", 0),
            0u);
}

TEST(Plan, ACancelRollsBackByTheStatusItsAdmissionWrote) {
  // A create in progress: DESTROYING, every VM the spec names released.
  auto undo_create = MakePlan(Action::kCancel, InstanceStatus::kDestroying);
  ASSERT_EQ(undo_create.steps.size(), 1u);
  EXPECT_EQ(undo_create.steps[0].kind, StepKind::kDestroyCluster);
  EXPECT_EQ(undo_create.final_status, InstanceStatus::kDestroyed);
  // A start: STOPPING, services then VMs, back to STOPPED.
  auto undo_start = MakePlan(Action::kCancel, InstanceStatus::kStopping);
  ASSERT_EQ(undo_start.steps.size(), 2u);
  EXPECT_EQ(undo_start.steps[0].kind, StepKind::kStopServices);
  EXPECT_EQ(undo_start.steps[1].kind, StepKind::kStopVms);
  EXPECT_EQ(undo_start.final_status, InstanceStatus::kStopped);
  // A stop: STARTING, VMs then services, back to STARTED.
  auto undo_stop = MakePlan(Action::kCancel, InstanceStatus::kStarting);
  ASSERT_EQ(undo_stop.steps.size(), 2u);
  EXPECT_EQ(undo_stop.steps[0].kind, StepKind::kStartVms);
  EXPECT_EQ(undo_stop.steps[1].kind, StepKind::kStartServices);
  EXPECT_EQ(undo_stop.final_status, InstanceStatus::kStarted);
  // A rollback step that fails ends FAILED, as the action it runs would.
  EXPECT_EQ(undo_start.steps[0].on_failure, InstanceStatus::kFailed);
  // Anywhere else it has nothing to do.
  EXPECT_TRUE(MakePlan(Action::kCancel, InstanceStatus::kStarted).steps.empty());
}

TEST(Plan, EveryCancellableStatusHasARollback) {
  for (int c = 0; c < domain::kStatusCount; ++c) {
    auto s = static_cast<InstanceStatus>(c);
    auto to = domain::CancelTo(s);
    if (!to) continue;
    auto p = MakePlan(Action::kCancel, *to);
    EXPECT_FALSE(p.steps.empty()) << domain::Info(s).name;
    EXPECT_TRUE(domain::IsSettled(p.final_status)) << domain::Info(s).name;
  }
}

}  // namespace
}  // namespace lambda::worker

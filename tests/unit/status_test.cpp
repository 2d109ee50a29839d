// The admission table of SPEC §2, checked for every (action, status) pair.
#include "lambda/domain/status.h"

#include <gtest/gtest.h>

#include <set>

#include "lambda/redis/scripts.h"

namespace lambda::domain {
namespace {

struct Case {
  Action action;
  InstanceStatus status;
};

std::vector<Case> AllCases() {
  std::vector<Case> out;
  for (auto a : {Action::kStart, Action::kStop, Action::kDestroy, Action::kCancel}) {
    for (int c = 0; c < kStatusCount; ++c) out.push_back({a, static_cast<InstanceStatus>(c)});
  }
  return out;
}

class AdmitTable : public ::testing::TestWithParam<Case> {};

TEST_P(AdmitTable, MatchesSpec) {
  auto [action, status] = GetParam();
  std::string name(Info(status).name);
  bool build_failure = name.size() > 7 && name.substr(name.size() - 7) == "_FAILED";
  bool settled = status == InstanceStatus::kStarted || status == InstanceStatus::kStopped ||
                 status == InstanceStatus::kFailed || status == InstanceStatus::kDestroyed ||
                 build_failure;
  AdmitDecision d = Admit(action, status);
  switch (action) {
    case Action::kStart:
      if (status == InstanceStatus::kStopped || status == InstanceStatus::kFailed) {
        EXPECT_EQ(d.outcome, AdmitOutcome::kAdmitted);
        EXPECT_EQ(d.next, InstanceStatus::kStarting);
      } else if (status == InstanceStatus::kStarted) {
        EXPECT_EQ(d.outcome, AdmitOutcome::kAlreadyThere);
        EXPECT_EQ(d.message, "The specified lambda instance is already started.");
      } else {
        EXPECT_EQ(d.outcome, AdmitOutcome::kConflict);
        EXPECT_EQ(d.message,
                  "Can't start a lambda instance while lambda instance status is " + name + ".");
      }
      break;
    case Action::kStop:
      if (status == InstanceStatus::kStarted || status == InstanceStatus::kFailed) {
        EXPECT_EQ(d.outcome, AdmitOutcome::kAdmitted);
        EXPECT_EQ(d.next, InstanceStatus::kStopping);
      } else if (status == InstanceStatus::kStopped) {
        EXPECT_EQ(d.message, "The specified lambda instance is already stopped.");
      } else {
        EXPECT_EQ(d.message,
                  "Can't stop a lambda instance while lambda instance status is " + name + ".");
      }
      break;
    case Action::kDestroy:
      if (settled && status != InstanceStatus::kDestroyed) {
        EXPECT_EQ(d.outcome, AdmitOutcome::kAdmitted);
        EXPECT_EQ(d.next, InstanceStatus::kDestroying);
      } else if (status == InstanceStatus::kDestroyed) {
        EXPECT_EQ(d.message, "The specified lambda instance is already destroyed.");
      } else {
        EXPECT_EQ(d.outcome, AdmitOutcome::kConflict);
        EXPECT_EQ(d.message,
                  "Can't destroy a lambda instance while lambda instance status is " + name + ".");
      }
      break;
    case Action::kCancel: {
      // SPEC §4.5: a create in progress rolls back to DESTROYED, a start to STOPPED, a stop to
      // STARTED; a settled instance (and a destroy, which cannot be undone) is a 409.
      bool creating = status == InstanceStatus::kPending;
      for (const auto& step : CreateSteps()) creating = creating || step.done == status;
      if (creating) {
        EXPECT_EQ(d.outcome, AdmitOutcome::kAdmitted) << name;
        EXPECT_EQ(d.next, InstanceStatus::kDestroying) << name;
      } else if (status == InstanceStatus::kStarting) {
        EXPECT_EQ(d.outcome, AdmitOutcome::kAdmitted);
        EXPECT_EQ(d.next, InstanceStatus::kStopping);
      } else if (status == InstanceStatus::kStopping) {
        EXPECT_EQ(d.outcome, AdmitOutcome::kAdmitted);
        EXPECT_EQ(d.next, InstanceStatus::kStarting);
      } else {
        EXPECT_EQ(d.outcome, AdmitOutcome::kConflict) << name;
        EXPECT_EQ(d.message,
                  "Can't cancel a lambda instance while lambda instance status is " + name + ".");
      }
      EXPECT_EQ(CancelTo(status).has_value(), d.outcome == AdmitOutcome::kAdmitted) << name;
      break;
    }
    default:
      FAIL();
  }
  // AllowedFrom (what admit.lua receives) agrees with Admit for every status.
  auto allowed = AllowedFrom(action);
  bool in_set = std::find(allowed.begin(), allowed.end(), status) != allowed.end();
  EXPECT_EQ(in_set, d.outcome == AdmitOutcome::kAdmitted);
}

INSTANTIATE_TEST_SUITE_P(AllPairs, AdmitTable, ::testing::ValuesIn(AllCases()));

TEST(StatusTable, CodesNamesAndDetailsAreTheSpecVocabulary) {
  EXPECT_EQ(kStatusCount, 22);
  std::set<std::string_view> names;
  for (int c = 0; c < kStatusCount; ++c) {
    const auto& i = Info(static_cast<InstanceStatus>(c));
    EXPECT_EQ(CodeOf(i.status), c);
    EXPECT_EQ(FromName(i.name), i.status);
    EXPECT_FALSE(i.detail.empty());
    names.insert(i.name);
  }
  EXPECT_EQ(names.size(), 22u);
  EXPECT_EQ(Info(InstanceStatus::kStarted).detail, "Lambda instance has been started");
  EXPECT_EQ(Info(InstanceStatus::kFlinkFailed).detail,
            "Apache Flink installation and configuration have failed");
  EXPECT_FALSE(FromCode(22).has_value());
  EXPECT_FALSE(FromCode(-1).has_value());
  EXPECT_FALSE(FromName("RUNNING").has_value());
}

TEST(StatusTable, CreateStepsInLifecycleOrder) {
  auto steps = CreateSteps();
  ASSERT_EQ(steps.size(), 6u);
  EXPECT_EQ(steps[0].done, InstanceStatus::kClusterCreated);
  EXPECT_EQ(steps[5].done, InstanceStatus::kFlinkInstalled);
  for (const auto& s : steps) {
    EXPECT_TRUE(IsBuildFailure(s.failed));
    EXPECT_TRUE(IsSettled(s.failed));
    EXPECT_FALSE(IsSettled(s.done));
  }
}

}  // namespace
}  // namespace lambda::domain

namespace lambda::domain {
namespace {

TEST(LuaStatusConstants, DefinesEachNameTheScriptUsesFromTheTable) {
  auto c = LuaStatusConstants("if x == S_DESTROYED or y == S_PENDING or z == S_DESTROYED then");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, "local S_DESTROYED = '6'\nlocal S_PENDING = '2'\n");
  EXPECT_EQ(*LuaStatusConstants("KEYS_X ARGV[1] local s_x"), "");  // not whole S_ names
  auto bad = LuaStatusConstants("return S_EXPLODED");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "S_EXPLODED is not a status");
}

TEST(LuaStatusConstants, EveryEmbeddedScriptHasOnlyKnownStatusNames) {
  // Each getter builds its script with the constants in front (and throws on an unknown name).
  for (const auto* s :
       {&redis::scripts::AdmitCreate(), &redis::scripts::Admit(), &redis::scripts::UndoAdmission(),
        &redis::scripts::Claim(), &redis::scripts::WriteStatus(), &redis::scripts::Page(),
        &redis::scripts::RenewLease(), &redis::scripts::ReleaseForRetry(),
        &redis::scripts::IndexCreate(), &redis::scripts::ReconcilerLease(),
        &redis::scripts::ReconcileOne(), &redis::scripts::Confirm()}) {
    EXPECT_FALSE(s->body.empty()) << s->name;
  }
  EXPECT_NE(redis::scripts::WriteStatus().body.find("local S_DESTROYED = '6'\n"),
            std::string::npos);
}

}  // namespace
}  // namespace lambda::domain

// Fair dispatch inside one worker (SPEC §5): the per-tenant queue's choices, without I/O.
#include "consumer/fair_queue.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lambda::worker {
namespace {

FairLimits Limits(size_t running, size_t per_tenant, size_t held_per_tenant, size_t held = 100) {
  return FairLimits{running, per_tenant, held_per_tenant, held};
}

std::vector<std::string> StartAll(FairQueue<int>& q) {
  std::vector<std::string> started;
  while (auto next = q.PopNext()) started.push_back(next->first + std::to_string(next->second));
  return started;
}

TEST(FairQueue, ATenantThatTookItsShareLeavesASlotForANewcomer) {
  FairQueue<int> q(Limits(4, 3, 10));
  for (int i = 0; i < 6; ++i) q.Push("b", i);
  EXPECT_EQ(StartAll(q), (std::vector<std::string>{"b0", "b1", "b2"}));  // not the fourth slot
  q.Push("a", 0);
  EXPECT_EQ(StartAll(q), (std::vector<std::string>{"a0"}));  // at once, before b frees a slot
  EXPECT_EQ(q.running(), 4U);
  EXPECT_EQ(q.running_of("b"), 3U);
}

TEST(FairQueue, FreedSlotsGoRoundRobinAcrossWaitingTenants) {
  FairQueue<int> q(Limits(2, 2, 10));
  for (int i = 0; i < 3; ++i) q.Push("b", i);
  for (int i = 0; i < 3; ++i) q.Push("a", i);
  EXPECT_EQ(StartAll(q), (std::vector<std::string>{"b0", "a0"}));
  q.Finished("b");
  EXPECT_EQ(StartAll(q), (std::vector<std::string>{"b1"}));
  q.Finished("b");
  EXPECT_EQ(StartAll(q), (std::vector<std::string>{"a1"}));  // a's turn, though b freed it
  q.Finished("a");
  q.Finished("a");
  EXPECT_EQ(StartAll(q), (std::vector<std::string>{"b2", "a2"}));
}

TEST(FairQueue, AloneATenantStillStopsAtItsShare) {
  FairQueue<int> q(Limits(8, 2, 10));
  for (int i = 0; i < 5; ++i) q.Push("b", i);
  EXPECT_EQ(StartAll(q).size(), 2U);
  EXPECT_EQ(q.held_of("b"), 3U);
  q.Finished("b");
  EXPECT_EQ(StartAll(q), (std::vector<std::string>{"b2"}));
}

TEST(FairQueue, ATenantsHeldCommandsAreBoundedButANewcomerIsAlwaysHeld) {
  FairQueue<int> q(Limits(1, 1, 2, 100));
  EXPECT_TRUE(q.CanHold("b"));
  q.Push("b", 0);
  q.Push("b", 1);
  EXPECT_FALSE(q.CanHold("b"));  // its share of held commands: defer the rest
  EXPECT_TRUE(q.CanHold("a"));
  EXPECT_EQ(StartAll(q), (std::vector<std::string>{"b0"}));
  EXPECT_TRUE(q.CanHold("b"));  // b0 left the queue for a slot
}

TEST(FairQueue, TheGlobalBoundOnHeldCommandsNeverShutsANewcomerOut) {
  FairQueue<int> q(Limits(1, 1, 10, 3));
  q.Push("b", 0);
  q.Push("b", 1);
  q.Push("c", 0);
  EXPECT_FALSE(q.CanHold("b"));
  EXPECT_FALSE(q.CanHold("c"));
  EXPECT_TRUE(q.CanHold("a"));  // nothing of a's held
  q.Push("a", 0);
  EXPECT_EQ(q.held(), 4U);
}

TEST(FairQueue, DrainHeldHandsBackEverythingWaitingAndKeepsTheRunningCount) {
  FairQueue<int> q(Limits(1, 1, 10));
  q.Push("a", 0);
  q.Push("a", 1);
  q.Push("b", 0);
  EXPECT_EQ(StartAll(q).size(), 1U);
  std::vector<std::string> drained;
  q.DrainHeld([&](const std::string& t, int i) { drained.push_back(t + std::to_string(i)); });
  EXPECT_EQ(drained.size(), 2U);
  EXPECT_EQ(q.held(), 0U);
  EXPECT_EQ(q.running(), 1U);
  EXPECT_FALSE(q.PopNext());
  q.Finished("a");
  EXPECT_EQ(q.running(), 0U);
  q.Finished("a");  // more than it started: ignored
  EXPECT_EQ(q.running(), 0U);
}

}  // namespace
}  // namespace lambda::worker

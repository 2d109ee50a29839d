#include "rate_limit.h"

#include <gtest/gtest.h>

namespace lambda::shim {
namespace {

TEST(RateLimiter, BurstThenTheRateAndAWaitThatSaysWhen) {
  RateLimiter l(2.0, 3.0);  // 2 a second, burst 3
  EXPECT_EQ(l.Take("a", 1000), 0u);
  EXPECT_EQ(l.Take("a", 1000), 0u);
  EXPECT_EQ(l.Take("a", 1000), 0u);
  uint64_t wait = l.Take("a", 1000);
  EXPECT_EQ(wait, 500u);               // one token every 500 ms
  EXPECT_EQ(l.Take("a", 1250), 250u);  // half refilled; nothing taken by the refusal
  EXPECT_EQ(l.Take("a", 1500), 0u);
  EXPECT_GT(l.Take("a", 1500), 0u);
  EXPECT_EQ(l.Take("a", 100000), 0u);  // refilled, capped at the burst
  EXPECT_EQ(l.Take("a", 100000), 0u);
  EXPECT_EQ(l.Take("a", 100000), 0u);
  EXPECT_GT(l.Take("a", 100000), 0u);
}

TEST(RateLimiter, KeysAreIndependentAndZeroIsOff) {
  RateLimiter l(1.0, 1.0);
  EXPECT_EQ(l.Take("a", 0), 0u);
  EXPECT_GT(l.Take("a", 0), 0u);
  EXPECT_EQ(l.Take("b", 0), 0u);  // another tenant is not starved
  RateLimiter off(0.0, 5.0);
  EXPECT_FALSE(off.enabled());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(off.Take("a", 0), 0u);
}

TEST(RateLimiter, MemoryIsBoundedByForgettingIdleKeys) {
  RateLimiter l(10.0, 1.0, 100);
  for (int i = 0; i < 1000; ++i)
    (void)l.Take("k" + std::to_string(i), static_cast<uint64_t>(i) * 1000);
  EXPECT_LE(l.keys(), 100u);
  // A busy key that was dropped restarts full: never stricter than the limit.
  RateLimiter busy(1.0, 1.0, 2);
  (void)busy.Take("x", 0);
  (void)busy.Take("y", 0);
  (void)busy.Take("z", 0);
  EXPECT_LE(busy.keys(), 2u);
}

}  // namespace
}  // namespace lambda::shim

#include <gtest/gtest.h>

#include "auth/authenticator.h"

namespace lambda::shim {
namespace {

TEST(KeyCache, TrustsAKeyForItsTtlThenAsksAgain) {
  KeyCache cache(1000, 10);
  EXPECT_FALSE(cache.Find("k", 0).has_value());
  cache.Put("k", "acme", 100);
  EXPECT_EQ(cache.Find("k", 1099), "acme");
  EXPECT_FALSE(cache.Find("k", 1100).has_value());  // expired: a revocation shows from here
  EXPECT_EQ(cache.size(), 0U);
}

TEST(KeyCache, AnExpiredKeyIsKeptForWhenRedisCannotAnswer) {
  KeyCache cache(1000, 10, 5000);
  cache.Put("k", "acme", 100);
  EXPECT_FALSE(cache.Find("k", 1100).has_value());  // past its TTL: Redis is asked again
  EXPECT_EQ(cache.FindStale("k", 1100), "acme");    // ... and if it cannot answer, trusted
  EXPECT_EQ(cache.FindStale("k", 6099), "acme");
  EXPECT_FALSE(cache.FindStale("k", 6100).has_value());  // the stale window is over
  EXPECT_FALSE(cache.Find("k", 6100).has_value());
  EXPECT_EQ(cache.size(), 0U);
  EXPECT_FALSE(cache.FindStale("never", 0).has_value());
}

TEST(KeyCache, ZeroTtlCachesNothingAndTheSizeIsBounded) {
  KeyCache off(0, 10);
  off.Put("k", "acme", 0);
  EXPECT_FALSE(off.Find("k", 0).has_value());
  KeyCache small(1000, 2);
  small.Put("a", "t", 0);
  small.Put("b", "t", 0);
  small.Put("c", "t", 0);  // full: starts again empty
  EXPECT_EQ(small.size(), 1U);
  EXPECT_EQ(small.Find("c", 1), "t");
}

}  // namespace
}  // namespace lambda::shim

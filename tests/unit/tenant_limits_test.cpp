// The pure parts of the tenant limits (SPEC §3): the token bucket's arithmetic, what a request
// costs, the 429 headers, and the stored limits over the defaults.
#include "lambda/domain/tenant_limits.h"

#include <gtest/gtest.h>

#include "tenants/buckets.h"
#include "tenants/gate.h"
#include "tenants/inflight.h"
#include "tenants/refusal.h"

namespace lambda::shim {
namespace {

TEST(TokenBuckets, BurstThenTheRateAndAWaitThatSaysWhen) {
  TokenBuckets b;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.Take("a", 1000, 1, 2.0, 3.0).granted);  // 2/s, 3
  Taken refused = b.Take("a", 1000, 1, 2.0, 3.0);
  EXPECT_FALSE(refused.granted);
  EXPECT_EQ(refused.wait_ms, 500u);                         // one token every 500 ms
  EXPECT_EQ(b.Take("a", 1250, 1, 2.0, 3.0).wait_ms, 250u);  // half refilled; nothing taken
  EXPECT_TRUE(b.Take("a", 1500, 1, 2.0, 3.0).granted);
  EXPECT_FALSE(b.Take("a", 1500, 1, 2.0, 3.0).granted);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.Take("a", 100000, 1, 2.0, 3.0).granted);  // capped
  EXPECT_FALSE(b.Take("a", 100000, 1, 2.0, 3.0).granted);
}

TEST(TokenBuckets, ABatchOfNCostsNTokens) {
  TokenBuckets b;
  Taken t = b.Take("t", 0, 10, 1.0, 10.0);
  EXPECT_TRUE(t.granted);
  EXPECT_DOUBLE_EQ(t.remaining, 0);
  EXPECT_FALSE(b.Take("t", 0, 1, 1.0, 10.0).granted);  // the batch took all ten
  // Too few for the batch: refused whole, and nothing taken.
  EXPECT_FALSE(b.Take("t", 5000, 6, 1.0, 10.0).granted);
  EXPECT_TRUE(b.Take("t", 5000, 5, 1.0, 10.0).granted);
}

TEST(TokenBuckets, ABatchLargerThanTheBurstIsPaidForInDebt) {
  TokenBuckets b;
  Taken t = b.Take("t", 0, 1000, 100.0, 100.0);  // from a full bucket: taken
  EXPECT_TRUE(t.granted);
  EXPECT_DOUBLE_EQ(t.remaining, -900);
  Taken next = b.Take("t", 0, 1, 100.0, 100.0);
  EXPECT_FALSE(next.granted);
  EXPECT_EQ(next.wait_ms, 9010u);  // the 900 owed, then one more token, at 100 a second
  EXPECT_TRUE(b.Take("t", 9010, 1, 100.0, 100.0).granted);
}

TEST(TokenBuckets, KeysAreIndependentNewLimitsApplyAndZeroRateIsOff) {
  TokenBuckets b;
  EXPECT_TRUE(b.Take("a", 0, 1, 1.0, 1.0).granted);
  EXPECT_FALSE(b.Take("a", 0, 1, 1.0, 1.0).granted);
  EXPECT_TRUE(b.Take("b", 0, 1, 1.0, 1.0).granted);  // another tenant is not starved
  // A lowered burst applies at once.
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(b.Take("c", 0, 1, 1.0, 10.0).granted);
  EXPECT_TRUE(b.Take("c", 0, 1, 1.0, 2.0).granted);  // 8 left, but capped at the new 2
  EXPECT_TRUE(b.Take("c", 0, 1, 1.0, 2.0).granted);
  EXPECT_FALSE(b.Take("c", 0, 1, 1.0, 2.0).granted);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(b.Take("d", 0, 1, 0.0, 1.0).granted);
}

TEST(TokenBuckets, MemoryIsBoundedByForgettingFullBuckets) {
  TokenBuckets b(100);
  for (int i = 0; i < 1000; ++i) {
    (void)b.Take("k" + std::to_string(i), static_cast<uint64_t>(i) * 1000, 1, 10.0, 1.0);
  }
  EXPECT_LE(b.keys(), 100u);
  TokenBuckets busy(2);
  for (const char* k : {"x", "y", "z"}) (void)busy.Take(k, 0, 1, 1.0, 1.0);
  EXPECT_LE(busy.keys(), 2u);  // a busy key that was dropped restarts full
}

TEST(RequestCost, ABatchCostsOnePerIdEverythingElseOne) {
  EXPECT_EQ(RequestCost(routes::Route::kBatch, R"({"action":"stop","ids":["a","b","c"]})"), 3);
  EXPECT_EQ(RequestCost(routes::Route::kZenlayer, R"({"instanceIds":["a","b"]})"), 2);
  EXPECT_EQ(RequestCost(routes::Route::kBatch, R"({"action":"stop","ids":[]})"), 1);
  EXPECT_EQ(RequestCost(routes::Route::kBatch, "not json"), 1);  // answered 400 anyway
  EXPECT_EQ(RequestCost(routes::Route::kCreate, R"({"ids":["a","b"]})"), 1);
  std::string many = R"({"ids":[)";
  for (int i = 0; i < 5000; ++i) many += std::string(i ? "," : "") + "\"x\"";
  EXPECT_EQ(RequestCost(routes::Route::kBatch, many + "]}"), 1000);
}

std::string HeaderOf(const std::vector<std::pair<std::string, std::string>>& h,
                     const std::string& name) {
  for (const auto& [n, v] : h) {
    if (n == name) return v;
  }
  return "(none)";
}

TEST(LimitHeaders, RateRefusalsFollowTheIetfDraft) {
  Taken t{false, 1500, 0.4, 4600};
  auto r = RateRefusal(LimitRefusal::Kind::kRate, t, 200, 1000);
  auto h = LimitHeaders(r);
  EXPECT_EQ(HeaderOf(h, "Retry-After"), "2");  // whole seconds, rounded up
  EXPECT_EQ(HeaderOf(h, "RateLimit-Policy"), "\"rate\";q=1000;w=5");
  EXPECT_EQ(HeaderOf(h, "RateLimit"), "\"rate\";r=0;t=2");
  EXPECT_NE(LimitText(r).find("retry after 2 s"), std::string::npos);
  // Never a Retry-After of 0, never a negative remainder.
  auto soon = RateRefusal(LimitRefusal::Kind::kAddress, Taken{false, 3, -7, 10}, 100, 200);
  EXPECT_EQ(HeaderOf(LimitHeaders(soon), "Retry-After"), "1");
  EXPECT_EQ(HeaderOf(LimitHeaders(soon), "RateLimit"), "\"address\";r=0;t=1");
  EXPECT_EQ(HeaderOf(LimitHeaders(soon), "RateLimit-Policy"), "\"address\";q=200;w=2");
}

TEST(LimitHeaders, QuotaRefusalsNameTheirQuota) {
  auto h = LimitHeaders(QuotaRefusal(LimitRefusal::Kind::kInstances, 5));
  EXPECT_EQ(HeaderOf(h, "RateLimit-Policy"), "\"instances\";q=5");
  EXPECT_EQ(HeaderOf(h, "RateLimit"), "\"instances\";r=0;t=60");
  EXPECT_EQ(HeaderOf(h, "Retry-After"), "60");
  auto w = LimitHeaders(QuotaRefusal(LimitRefusal::Kind::kWatchers, 3));
  EXPECT_EQ(HeaderOf(w, "RateLimit-Policy"), "\"watchers\";q=3");
  EXPECT_EQ(HeaderOf(w, "Retry-After"), "1");
  EXPECT_NE(LimitText(QuotaRefusal(LimitRefusal::Kind::kInstances, 5)).find("quota of 5"),
            std::string::npos);
}

TEST(InFlight, CountsEachTenantsUnsettledInstancesOnce) {
  InFlight f(4);
  f.OnStatus("a", "i1", false);
  f.OnStatus("a", "i1", false);  // a second transitional status: still one
  f.OnStatus("a", "i2", false);
  f.OnStatus("b", "i3", false);
  EXPECT_EQ(f.Count("a"), 2u);
  EXPECT_EQ(f.Count("b"), 1u);
  f.OnStatus("a", "i1", true);
  f.OnStatus("c", "i9", true);  // settled and never seen: nothing
  EXPECT_EQ(f.Count("a"), 1u);
  EXPECT_EQ(f.Count("c"), 0u);
  EXPECT_EQ(f.total(), 2u);
  f.OnStatus("a", "i4", false);
  f.OnStatus("a", "i5", false);  // past 4: starts again (counting low, never refusing wrongly)
  EXPECT_LE(f.total(), 4u);
}

TEST(TenantLimits, StoredFieldsOverTheDefaultsAndBadOnesIgnored) {
  const domain::TenantLimits defaults;
  EXPECT_EQ(domain::LimitsFromFields({}, defaults), defaults);
  auto l = domain::LimitsFromFields(
      {{"max_instances", "5"}, {"rate", "7"}, {"burst", "x"}, {"max_watchers", "0"}, {"z", "1"}},
      defaults);
  EXPECT_EQ(l.max_instances, 5);
  EXPECT_EQ(l.rate, 7);
  EXPECT_EQ(l.burst, defaults.burst);  // not a number: the default stays
  EXPECT_EQ(l.max_watchers, 0);
  EXPECT_FALSE(domain::CheckLimit("max_instances", "0"));
  EXPECT_TRUE(domain::CheckLimit("rate", "0"));  // a rate of 0 would refuse everything
  EXPECT_TRUE(domain::CheckLimit("burst", "-1"));
  EXPECT_TRUE(domain::CheckLimit("max_watchers", "1000000001"));
  EXPECT_FALSE(domain::CheckLimit("max_inflight", "5"));
  EXPECT_TRUE(domain::CheckLimit("max_active", "5"));  // not a limit
}

}  // namespace
}  // namespace lambda::shim

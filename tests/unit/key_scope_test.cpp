// The key scopes' rule, the --expires parser, the route kinds, and the audit trail's pure parts.
#include <gtest/gtest.h>

#include "audit/trail.h"
#include "auth/authenticator.h"
#include "auth/scope.h"
#include "lambda/domain/api_keys.h"

namespace lambda::shim {
namespace {

using domain::KeyScope;
using domain::RouteKind;

TEST(KeyScope, EachScopeMayDoWhatItsKindAndMethodNeedAndNoMore) {
  struct Case {
    const char* method;
    RouteKind kind;
    KeyScope need;
  };
  const Case cases[] = {
      {"GET", RouteKind::kInstances, KeyScope::kRead},
      {"HEAD", RouteKind::kInstances, KeyScope::kRead},
      {"POST", RouteKind::kInstances, KeyScope::kOperate},
      {"PUT", RouteKind::kInstances, KeyScope::kOperate},
      {"DELETE", RouteKind::kInstances, KeyScope::kOperate},
      {"GET", RouteKind::kManagement, KeyScope::kRead},
      {"POST", RouteKind::kManagement, KeyScope::kAdmin},
      {"PUT", RouteKind::kManagement, KeyScope::kAdmin},
      {"DELETE", RouteKind::kManagement, KeyScope::kAdmin},
      {"POST", RouteKind::kQuery, KeyScope::kRead},
      {"PATCH", RouteKind::kInstances, KeyScope::kOperate},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(domain::RequiredScope(c.method, c.kind), c.need) << c.method;
  }
  EXPECT_TRUE(domain::Permits(KeyScope::kRead, KeyScope::kRead));
  EXPECT_FALSE(domain::Permits(KeyScope::kRead, KeyScope::kOperate));
  EXPECT_FALSE(domain::Permits(KeyScope::kOperate, KeyScope::kAdmin));
  EXPECT_TRUE(domain::Permits(KeyScope::kAdmin, KeyScope::kOperate));
  EXPECT_TRUE(domain::Permits(KeyScope::kOperate, KeyScope::kRead));
}

TEST(KeyScope, NamesParseExactlyAndAKeyStoredWithoutAScopeKeepsFullAccess) {
  EXPECT_EQ(domain::ParseScope("read"), KeyScope::kRead);
  EXPECT_EQ(domain::ParseScope("operate"), KeyScope::kOperate);
  EXPECT_EQ(domain::ParseScope("admin"), KeyScope::kAdmin);
  EXPECT_FALSE(domain::ParseScope("Admin").has_value());
  EXPECT_FALSE(domain::ParseScope("").has_value());
  EXPECT_EQ(domain::ScopeName(KeyScope::kOperate), "operate");
  EXPECT_EQ(domain::StoredScope(""), KeyScope::kAdmin);      // made before scopes
  EXPECT_EQ(domain::StoredScope("bogus"), KeyScope::kRead);  // fails closed
  EXPECT_EQ(domain::StoredScope("operate"), KeyScope::kOperate);
}

TEST(KeyScope, DurationsTakeSecondsMinutesHoursDaysAndRefuseTheRest) {
  EXPECT_EQ(*domain::ParseDurationMs("2s"), 2000);
  EXPECT_EQ(*domain::ParseDurationMs("15m"), 15 * 60000);
  EXPECT_EQ(*domain::ParseDurationMs("12h"), 12 * 3600000LL);
  EXPECT_EQ(*domain::ParseDurationMs("30d"), 30 * 86400000LL);
  EXPECT_EQ(*domain::ParseDurationMs("3650d"), 3650 * 86400000LL);
  for (const char* bad : {"", "s", "30", "0s", "-1h", "1.5h", "2w", "30D", " 3d", "3d ", "3651d",
                          "99999999999s", "1e3s"}) {
    auto r = domain::ParseDurationMs(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, Code::kInvalidArgument);
    }
  }
}

TEST(KeyScope, RoutesDeclareTheirKindAndZenlayersDescribeOnlyReads) {
  http::Request req;
  req.method = "POST";
  EXPECT_EQ(KindOf(routes::Route::kAction, req), RouteKind::kInstances);
  EXPECT_EQ(KindOf(routes::Route::kAudit, req), RouteKind::kManagement);
  EXPECT_EQ(KindOf(routes::Route::kZenlayer, req), RouteKind::kInstances);  // no action: acts
  req.headers = {{"x-zc-action", "DescribeInstancesStatus"}};
  EXPECT_EQ(KindOf(routes::Route::kZenlayer, req), RouteKind::kQuery);
  EXPECT_EQ(ScopeNeeded(routes::Route::kZenlayer, req), KeyScope::kRead);
  req.headers = {{"x-zc-action", "StopInstances"}};
  EXPECT_EQ(ScopeNeeded(routes::Route::kZenlayer, req), KeyScope::kOperate);
  req.method = "GET";
  EXPECT_EQ(ScopeNeeded(routes::Route::kAudit, req), KeyScope::kRead);
}

TEST(KeyScope, AnExpiredIdentityIsExpiredFromItsInstantOn) {
  KeyIdentity id{"t", "k", "n", KeyScope::kRead, 1000, "h"};
  EXPECT_FALSE(id.ExpiredAt(999));
  EXPECT_TRUE(id.ExpiredAt(1000));
  id.expires_ms = 0;
  EXPECT_FALSE(id.ExpiredAt(1LL << 60));
}

TEST(KeyScope, LastUsedIsWrittenAtMostOncePerPeriodPerKey) {
  TouchThrottle t(60000, 2);
  EXPECT_TRUE(t.Due("a", 0));
  EXPECT_FALSE(t.Due("a", 59999));
  EXPECT_TRUE(t.Due("b", 1));
  EXPECT_TRUE(t.Due("a", 60000));
  EXPECT_TRUE(t.Due("c", 60001));  // full: starts again, bounded
}

TEST(Audit, Rfc3339ParsesUtcFractionsAndOffsetsAndRefusesTheRest) {
  EXPECT_EQ(*audit::ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*audit::ParseRfc3339("2026-12-07T20:03:24Z"), 1796673804000LL);
  EXPECT_EQ(*audit::ParseRfc3339("2026-12-07T20:03:24.5Z"), 1796673804500LL);
  EXPECT_EQ(*audit::ParseRfc3339("2026-12-07T22:03:24.123456+02:00"), 1796673804123LL);
  EXPECT_EQ(*audit::ParseRfc3339("2024-02-29T00:00:00Z"), 1709164800000LL);
  for (const char* bad :
       {"", "yesterday", "2026-12-07", "2026-12-07T20:03:24", "2026-13-07T00:00:00Z",
        "2025-02-29T00:00:00Z", "2026-12-07T24:00:00Z", "2026-12-07T20:03:24.Z",
        "2026-12-07T20:03:24+0200", "2026-12-07T20:03:24Zjunk"}) {
    EXPECT_FALSE(audit::ParseRfc3339(bad).ok()) << bad;
  }
}

TEST(Audit, TheQueryPicksWhereThePageStartsAndHowLongItIs) {
  http::Request req;
  auto q = audit::ParseQuery(req);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->start, "-");
  EXPECT_EQ(q->limit, audit::kDefaultLimit);
  req.query = "since=1970-01-01T00:00:01Z&limit=5";
  q = audit::ParseQuery(req);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->start, "1000-0");
  EXPECT_EQ(q->limit, 5);
  req.query = "after=1000-3";
  EXPECT_EQ(audit::ParseQuery(req)->start, "(1000-3");
  for (const char* bad : {"since=now", "limit=0", "limit=1001", "limit=x", "after=12"}) {
    req.query = bad;
    EXPECT_FALSE(audit::ParseQuery(req).ok()) << bad;
  }
}

}  // namespace
}  // namespace lambda::shim

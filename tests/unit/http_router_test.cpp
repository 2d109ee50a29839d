#include <gtest/gtest.h>

#include "lambda/http/router.h"

namespace lambda::http {
namespace {

enum Route { kHealth, kThing, kThingCount, kThingPost };

Router MakeRouter() {
  return Router({{"GET", "/healthz", kHealth},
                 {"GET", "/things/count", kThingCount},
                 {"GET", "/things/{id}", kThing},
                 {"POST", "/things/{id}", kThingPost}});
}

TEST(HttpRouter, FindsTheEntryWithItsIdAndAnOptionalTrailingSlash) {
  auto r = MakeRouter();
  auto m = r.Match("GET", "/things/abc/");
  EXPECT_EQ(m.kind, PathMatch::Kind::kFound);
  EXPECT_EQ(m.route, kThing);
  EXPECT_EQ(m.id, "abc");
  EXPECT_EQ(r.Match("HEAD", "/healthz").route, kHealth);
  EXPECT_EQ(r.Match("POST", "/things/x").route, kThingPost);
}

TEST(HttpRouter, NotFoundMethodNotAllowedAndOptions) {
  auto r = MakeRouter();
  EXPECT_EQ(r.Match("GET", "/nope").kind, PathMatch::Kind::kNotFound);
  EXPECT_EQ(r.Match("GET", "//healthz").kind, PathMatch::Kind::kNotFound);
  auto m = r.Match("DELETE", "/things/x");
  EXPECT_EQ(m.kind, PathMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD, POST, OPTIONS");
  auto o = r.Match("OPTIONS", "/healthz");
  EXPECT_EQ(o.kind, PathMatch::Kind::kOptions);
  EXPECT_EQ(o.allow, "GET, HEAD, OPTIONS");
}

TEST(HttpRouter, ALiteralShadowsTheIdEntriesAtItsPath) {
  auto r = MakeRouter();
  EXPECT_EQ(r.Match("GET", "/things/count").route, kThingCount);
  // POST /things/{id} would match "count", but the literal owns that path.
  auto m = r.Match("POST", "/things/count");
  EXPECT_EQ(m.kind, PathMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD, OPTIONS");
}

TEST(HttpRouter, APathDeeperThanAnyRouteIsNotFound) {
  auto r = MakeRouter();
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "/things";
  EXPECT_EQ(r.Match("GET", deep).kind, PathMatch::Kind::kNotFound);
  EXPECT_EQ(r.Match("OPTIONS", deep + "/count").kind, PathMatch::Kind::kNotFound);
  EXPECT_EQ(r.Match("GET", "/things/count/x").kind, PathMatch::Kind::kNotFound);
  EXPECT_EQ(r.Match("GET", "/").kind, PathMatch::Kind::kNotFound);
  auto found = r.Match("GET", "/things/abc");
  EXPECT_TRUE(found.allow.empty()) << "a found route carries no Allow set";
}

}  // namespace
}  // namespace lambda::http

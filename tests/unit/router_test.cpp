#include <gtest/gtest.h>

#include "routes/table.h"

namespace lambda::routes {
namespace {

const std::string kId = "9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c";

TEST(Router, ServiceRoutesWithOptionalTrailingSlash) {
  EXPECT_EQ(Match("POST", "/api/lambda-instances/").route, Route::kCreate);
  EXPECT_EQ(Match("POST", "/api/lambda-instances").route, Route::kCreate);
  EXPECT_EQ(Match("POST", "/api/lambda-instance/").route, Route::kCreate);
  EXPECT_EQ(Match("GET", "/api/lambda-instances/").route, Route::kList);
  EXPECT_EQ(Match("GET", "/api/lambda-instances/count/").route, Route::kCount);
  EXPECT_EQ(Match("GET", "/api/authenticate").route, Route::kAuthenticate);
  auto d = Match("GET", "/api/lambda-instances/" + kId + "/");
  EXPECT_EQ(d.route, Route::kDetails);
  EXPECT_EQ(d.id, kId);
  EXPECT_EQ(Match("GET", "/api/lambda-instances/" + kId + "/status").route, Route::kStatus);
  EXPECT_EQ(Match("POST", "/api/lambda-instances/" + kId).route, Route::kAction);
  EXPECT_EQ(Match("DELETE", "/api/lambda-instances/" + kId + "/").route, Route::kDestroy);
}

TEST(Router, FelderaRoutesTheOfficialClientCalls) {
  EXPECT_EQ(Match("GET", "/v0/config").route, Route::kFelderaConfig);
  EXPECT_EQ(Match("GET", "/v0/pipelines").route, Route::kFelderaList);
  auto p = Match("GET", "/v0/pipelines/" + kId);
  EXPECT_EQ(p.route, Route::kFelderaGet);
  EXPECT_EQ(p.id, kId);
  auto d = Match("POST", "/v0/pipelines/" + kId + "/dismiss_error");
  EXPECT_EQ(d.route, Route::kFelderaDismissError);
  EXPECT_EQ(d.id, kId);
  EXPECT_EQ(Match("POST", "/v0/pipelines/" + kId + "/pause").route, Route::kFelderaPause);
  EXPECT_EQ(Match("POST", "/v0/pipelines/" + kId + "/resume/").route, Route::kFelderaResume);
  for (auto r : {Route::kFelderaConfig, Route::kFelderaList, Route::kFelderaDismissError,
                 Route::kFelderaPause, Route::kFelderaResume}) {
    EXPECT_EQ(DialectOf(r), Dialect::kFeldera) << RouteName(r);
    EXPECT_FALSE(IsPublic(r)) << RouteName(r);  // a key is needed, as for every other route
  }
  EXPECT_EQ(Match("GET", "/v0/pipelines/" + kId + "/pause").route, Route::kMethodNotAllowed);
}

TEST(Router, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  EXPECT_EQ(Match("GET", "/nope").route, Route::kNotFound);
  EXPECT_EQ(Match("GET", "/api/lambda-instances/a/b/c").route, Route::kNotFound);
  EXPECT_EQ(Match("GET", "/api//lambda-instances").route, Route::kNotFound);
  auto m = Match("PUT", "/api/lambda-instances/");
  EXPECT_EQ(m.route, Route::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "POST, GET, HEAD, OPTIONS");
  auto c = Match("DELETE", "/api/lambda-instances/count");
  EXPECT_EQ(c.route, Route::kMethodNotAllowed);
  EXPECT_EQ(c.allow, "GET, HEAD, OPTIONS");  // "count" is not an id
  auto i = Match("PATCH", "/api/lambda-instances/" + kId);
  EXPECT_EQ(i.allow, "GET, HEAD, POST, DELETE, OPTIONS");
}

TEST(Router, HeadMatchesEveryGetRouteAndOptionsAnswersAllow) {
  EXPECT_EQ(Match("HEAD", "/api/lambda-instances/" + kId + "/status").route, Route::kStatus);
  EXPECT_EQ(Match("HEAD", "/healthz").route, Route::kHealthz);
  EXPECT_EQ(Match("HEAD", "/api/v2/vm").route, Route::kMethodNotAllowed);  // POST only
  auto o = Match("OPTIONS", "/api/lambda-instances/" + kId);
  EXPECT_EQ(o.route, Route::kOptions);
  EXPECT_EQ(o.allow, "GET, HEAD, POST, DELETE, OPTIONS");
  EXPECT_TRUE(IsPublic(o.route));
  EXPECT_EQ(Match("OPTIONS", "/nope").route, Route::kNotFound);
}

TEST(Router, PublicRoutes) {
  EXPECT_TRUE(IsPublic(Match("GET", "/healthz").route));
  EXPECT_TRUE(IsPublic(Match("GET", "/readyz/").route));
  EXPECT_TRUE(IsPublic(Match("GET", "/metrics").route));
  EXPECT_FALSE(IsPublic(Match("GET", "/api/lambda-instances").route));
}

}  // namespace
}  // namespace lambda::routes

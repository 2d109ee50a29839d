#include "health/health.h"

#include <gtest/gtest.h>

namespace lambda::worker {
namespace {

TEST(WorkerHealth, RoutesThroughTheSharedRouter) {
  HealthView up{true, true, 2, [] { return std::string("lambda_worker_acked 3\n"); }};
  EXPECT_EQ(HealthResponse("GET", "/healthz/", up).status, 200);
  EXPECT_EQ(HealthResponse("GET", "/readyz", up).status, 200);
  auto metrics = HealthResponse("GET", "/metrics", up);
  EXPECT_NE(metrics.body.find("lambda_worker_acked 3\n"), std::string::npos);
  EXPECT_EQ(HealthResponse("GET", "/nope", up).status, 404);
  auto post = HealthResponse("POST", "/healthz", up);
  EXPECT_EQ(post.status, 405);
  ASSERT_EQ(post.headers.size(), 1U);
  EXPECT_EQ(post.headers[0].second, "GET, HEAD, OPTIONS");
}

TEST(WorkerHealth, NotReadyWhileADependencyIsDown) {
  HealthView down{true, false, 0, {}};
  auto r = HealthResponse("GET", "/readyz", down);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"({"status":"not ready","redis":true,"rabbitmq":false})");
  EXPECT_EQ(HealthResponse("GET", "/healthz", down).status, 200);
}

}  // namespace
}  // namespace lambda::worker

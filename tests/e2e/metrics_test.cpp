// End to end: /metrics of the shim and of a worker after real traffic, checked by Prometheus's
// own `promtool check metrics` (HELP and TYPE for every family, names, histogram consistency).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "support.h"

namespace lambda {
namespace {

using std::chrono::seconds;
using testing::CreateBody;
using testing::Http;
using testing::Json;
using testing::Stack;

/// promtool's verdict on `text`: its exit code and what it printed.
std::pair<int, std::string> Promtool(const std::string& text, const std::string& dir) {
  std::string file = dir + "/metrics.txt";
  std::ofstream(file) << text;
  auto r = testing::RunCommand("promtool check metrics < " + file + " 2>&1");
  return {r.rc, r.out};
}

double Value(const std::string& body, const std::string& series) {
  auto at = body.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(body.substr(at + series.size() + 2));
}

TEST(Metrics, ShimAndWorkerExportEveryFamilyAndPromtoolAcceptsThem) {
  Stack stack(Stack::Options{0, {}, {}});
  int worker_port = testing::FreePort();
  // Before any traffic: every family is there, counters at 0.
  auto fresh = Http("GET", stack.url() + "/metrics");
  ASSERT_EQ(fresh.status, 200);
  for (const char* family :
       {"lambda_publishes_confirmed_total 0", "lambda_rate_limited_total 0",
        "lambda_admissions_undone_total 0", "lambda_idempotent_replays_total 0",
        "lambda_watch_streams 0", "lambda_amqp_unconfirmed 0",
        "# TYPE lambda_http_request_duration_seconds histogram",
        "# TYPE lambda_admission_confirm_seconds histogram"}) {
    EXPECT_NE(fresh.body.find(family), std::string::npos) << family;
  }
  stack.StartWorker({"--worker-http-port", std::to_string(worker_port)});
  std::string key = stack.NewKey("metrics");
  auto r = Http("POST", stack.url() + "/api/lambda-instances/", {"X-API-Key: " + key},
                CreateBody("measured"));
  ASSERT_EQ(r.status, 202);
  std::string id = Json(r.body)["data"][0]["id"].GetString();
  ASSERT_TRUE(stack.WaitStatus(id, "STARTED", seconds(20)));
  EXPECT_EQ(Http("GET", stack.url() + "/api/lambda-instances/nope/", {"X-API-Key: " + key}).status,
            404);

  auto shim = Http("GET", stack.url() + "/metrics");
  EXPECT_EQ(shim.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  auto [shim_rc, shim_says] = Promtool(shim.body, stack.logs_dir());
  EXPECT_EQ(shim_rc, 0) << shim_says;
  EXPECT_EQ(Value(shim.body, "lambda_publishes_confirmed_total"), 1);
  EXPECT_EQ(Value(shim.body, "lambda_admission_confirm_seconds_count"), 1);
  EXPECT_EQ(
      Value(shim.body, R"(lambda_http_request_duration_seconds_count{code="202",route="create"})"),
      1);
  EXPECT_EQ(
      Value(shim.body, R"(lambda_http_request_duration_seconds_count{code="404",route="details"})"),
      1);

  auto worker = Http("GET", "http://127.0.0.1:" + std::to_string(worker_port) + "/metrics");
  ASSERT_EQ(worker.status, 200);
  auto [worker_rc, worker_says] = Promtool(worker.body, stack.logs_dir());
  EXPECT_EQ(worker_rc, 0) << worker_says;
  EXPECT_EQ(Value(worker.body, "lambda_worker_commands_completed_total"), 1);
  EXPECT_EQ(Value(worker.body, "lambda_worker_queue_wait_seconds_count"), 1);
  EXPECT_EQ(
      Value(worker.body,
            R"(lambda_worker_command_duration_seconds_count{action="create",outcome="completed"})"),
      1);
  EXPECT_EQ(Value(worker.body, "lambda_worker_commands_dead_lettered_total"), 0);
}

}  // namespace
}  // namespace lambda

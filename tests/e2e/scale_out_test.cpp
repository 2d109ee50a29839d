// Several shims on one host behind one port (--reuse-port): the kernel spreads new connections
// over them, and when one stops the others keep answering on that port. And workers whose
// simulated cloud keeps its state in a Redis of its own (--sim-cloud-redis-url), apart from ours.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "support.h"

namespace lambda {
namespace {

using testing::Http;
using testing::Process;
using testing::Stack;

TEST(ScaleOut, TwoShimsShareOnePortTheKernelSpreadsConnectionsAndEitherCanStop) {
  Stack stack(Stack::Options{.workers = 1, .shim_flags = {}, .worker_flags = {}});
  std::string key = stack.NewKey("reuse");
  stack.Seed(2, "STOPPED", "reuse");
  int port = testing::FreePort();
  auto shim = [&](const std::string& name) {
    auto argv = stack.ShimArgv();
    // Each names itself in the pagination links it writes, which tells who answered.
    argv.insert(argv.end(), {"--http-port", std::to_string(port), "--reuse-port", "true",
                             "--public-url", "http://" + name});
    return std::make_unique<Process>(argv, stack.logs_dir() + "/" + name + ".log");
  };
  auto a = shim("shim-a");
  auto b = shim("shim-b");
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  ASSERT_TRUE(stack.WaitFor([&] { return Http("GET", base + "/readyz").status == 200; }));
  auto who_answers = [&](int n, int* from_a, int* from_b, int* failed) {
    for (int i = 0; i < n; ++i) {  // a new connection each time
      auto r = Http("GET", base + "/api/lambda-instances/?limit=1", {"X-API-Key: " + key});
      if (r.status != 200) ++*failed;
      *from_a += r.body.find("http://shim-a/") != std::string::npos;
      *from_b += r.body.find("http://shim-b/") != std::string::npos;
    }
  };
  // Both bound the port (without SO_REUSEPORT the second would have exited on EADDRINUSE) and
  // both are ready.
  ASSERT_TRUE(stack.WaitFor([&] {
    int from_a = 0, from_b = 0, failed = 0;
    who_answers(10, &from_a, &from_b, &failed);
    return from_a > 0 && from_b > 0;
  })) << "the kernel never gave a connection to one of the two";
  ASSERT_TRUE(a->Alive());
  ASSERT_TRUE(b->Alive());
  int from_a = 0, from_b = 0, failed = 0;
  who_answers(60, &from_a, &from_b, &failed);
  std::printf("60 connections to one port: shim a %d, shim b %d, failed %d\n", from_a, from_b,
              failed);
  EXPECT_EQ(failed, 0);
  EXPECT_GT(from_a, 5);
  EXPECT_GT(from_b, 5);

  // One stops (SIGTERM, graceful): the port keeps answering, from the other alone.
  a->Signal(SIGTERM);
  EXPECT_EQ(a->Wait(std::chrono::seconds(15)), 0);
  from_a = from_b = failed = 0;
  who_answers(30, &from_a, &from_b, &failed);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(from_a, 0);
  EXPECT_EQ(from_b, 30);
}

TEST(ScaleOut, WithoutReusePortASecondShimOnTheSamePortFailsToStart) {
  Stack stack(Stack::Options{.workers = 0, .shim_flags = {}, .worker_flags = {}});
  auto argv = stack.ShimArgv();
  argv.insert(argv.end(), {"--http-port", std::to_string(stack.port())});
  Process second(argv, stack.logs_dir() + "/second.log");
  EXPECT_NE(second.Wait(std::chrono::seconds(15)), 0);
  EXPECT_NE(second.Log().find("address already in use"), std::string::npos) << second.Log();
}

TEST(ScaleOut, TheSimulatedCloudKeepsItsVmsInTheRedisItIsGiven) {
  // Database 1 of the test's server stands for the cloud's own Redis.
  const std::string cloud_url = testing::EnvOr("LAMBDA_TEST_REDIS_URL") + "/1";
  testing::SyncRedis cloud(cloud_url);
  Stack stack(Stack::Options{
      .workers = 1, .shim_flags = {}, .worker_flags = {"--sim-cloud-redis-url", cloud_url}});
  std::string key = stack.NewKey("cloud");
  auto ids = stack.Seed(1, "STOPPED", "cloud");
  const std::string vms = stack.redis_prefix() + "sim:vm:*" + ids[0] + "*";
  for (const char* action : {"start", "stop"}) {
    ASSERT_EQ(Http("POST", stack.url() + "/api/lambda-instances/" + ids[0] + "/",
                   {"X-API-Key: " + key}, std::string("action=") + action)
                  .status,
              202);
    ASSERT_TRUE(stack.WaitStatus(ids[0], std::string(action) == "start" ? "STARTED" : "STOPPED",
                                 std::chrono::seconds(20)))
        << stack.StatusOf(ids[0]);
    auto in_cloud = cloud.Array({"KEYS", vms});
    ASSERT_EQ(in_cloud.size(), 2U);  // a seeded instance: its master and one slave
    for (const auto& vm : in_cloud) {
      EXPECT_EQ(cloud.Cmd({"GET", vm}), std::string(action) == "start" ? "ACTIVE" : "SHUTOFF");
    }
    EXPECT_TRUE(stack.redis().Array({"KEYS", vms}).empty()) << "the cloud's state is in ours";
  }
  for (const auto& vm : cloud.Array({"KEYS", vms})) cloud.Cmd({"DEL", vm});
}

TEST(ScaleOut, ABadSimCloudUrlIsRefusedAtStart) {
  Process worker({testing::EnvOr("LAMBDA_WORKER_BIN"), "--sim-cloud-redis-url", "http://nope"},
                 testing::UniquePrefix("/tmp/lambda-bad-cloud") + ".log");
  EXPECT_NE(worker.Wait(std::chrono::seconds(10)), 0);
  EXPECT_NE(worker.Log().find("--sim-cloud-redis-url"), std::string::npos) << worker.Log();
}

}  // namespace
}  // namespace lambda

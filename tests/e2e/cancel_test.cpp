// Cancel (SPEC §4.5), against the real stack with the sim provider and slow steps
// (`simulate.step_ms`): a transitional instance goes back to where it was — a create to
// DESTROYED with every sim VM released, a start to STOPPED, a stop to STARTED — its running step
// interrupted so the worker's slot frees within a second; a settled instance is a 409 with
// nothing changed. Figures: cancel to slot free, cancel to DESTROYED, resources left.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "lambda/redis/keys.h"
#include "support.h"

namespace lambda {
namespace {

using testing::Http;
using testing::Stack;
using Clock = std::chrono::steady_clock;

long Ms(Clock::duration d) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

testing::HttpResponse Action(Stack& stack, const std::string& key, const std::string& id,
                             const std::string& action) {
  return Http("POST", stack.url() + "/api/lambda-instances/" + id + "/",
              {"X-API-Key: " + key, "Content-Type: application/json"},
              R"({"action":")" + action + R"("})");
}

/// The sim's VMs of an instance that exist right now (its cloud is a key per VM in Redis).
size_t SimVms(Stack& stack, const std::string& id) {
  return stack.redis().Array({"KEYS", stack.redis_prefix() + "sim:vm:lambda-" + id + "-*"}).size();
}

/// One sample of a worker's /metrics (its value, or -1 when the series is absent).
double Metric(int port, const std::string& series) {
  auto r = Http("GET", "http://127.0.0.1:" + std::to_string(port) + "/metrics");
  size_t at = r.body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(r.body.substr(at + series.size() + 2));
}

std::string Events(Stack& stack, const std::string& key, const std::string& id) {
  return Http("GET", stack.url() + "/api/lambda-instances/" + id + "/events", {"X-API-Key: " + key})
      .body;
}

TEST(Cancel, ASlowCreateEndsDestroyedWithEveryVmReleasedAndTheSlotFree) {
  int port = testing::FreePort();
  Stack stack(Stack::Options{1, {}, {"--worker-http-port", std::to_string(port)}});
  std::string key = stack.NewKey("tenant-c");
  std::string id = testing::CreateAs(stack, key, "wrong-size", R"("simulate":{"step_ms":1000})");
  // The VMs exist (CLUSTER_CREATED) and the INIT step waits its second.
  ASSERT_TRUE(stack.WaitStatus(id, "CLUSTER_CREATED", std::chrono::seconds(20)))
      << stack.StatusOf(id);
  ASSERT_EQ(SimVms(stack, id), 3U);  // master and two slaves
  const double superseded_before = Metric(
      port,
      "lambda_worker_command_duration_seconds_count{action=\"create\",outcome=\"superseded\"}");
  auto asked = Clock::now();
  auto r = Action(stack, key, id, "cancel");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(stack.StatusOf(id), "DESTROYING");
  bool freed = testing::WaitFor(
      [&] {
        return Metric(port,
                      "lambda_worker_command_duration_seconds_count{action=\"create\","
                      "outcome=\"superseded\"}") > std::max(superseded_before, 0.0);
      },
      std::chrono::seconds(10));
  long freed_ms = Ms(Clock::now() - asked);
  bool destroyed = stack.WaitStatus(id, "DESTROYED", std::chrono::seconds(10));
  long destroyed_ms = Ms(Clock::now() - asked);
  size_t left = SimVms(stack, id);
  std::printf(
      "cancel of a create: slot free %ld ms, DESTROYED %ld ms after the request, sim VMs left "
      "%zu\n",
      freed_ms, destroyed_ms, left);
  ASSERT_TRUE(freed) << "the create still holds its slot after " << freed_ms << " ms";
  EXPECT_LE(freed_ms, 1000);
  ASSERT_TRUE(destroyed) << stack.StatusOf(id);
  EXPECT_LE(destroyed_ms, 5000);
  EXPECT_EQ(left, 0U);
  auto history = stack.History(id);
  EXPECT_EQ(history.back(), "DESTROYED");
  EXPECT_EQ(std::count(history.begin(), history.end(), "INIT_DONE"), 0)
      << "the interrupted step was written after the cancel";
  std::string events = Events(stack, key, id);
  // The cancel's admission and the rollback's end both say why.
  size_t first = events.find(R"("reason":"cancelled")");
  ASSERT_NE(first, std::string::npos) << events;
  EXPECT_NE(events.find(R"("reason":"cancelled")", first + 1), std::string::npos) << events;
  // Out of the tenant's live instances (its quota): the worker removes it just after its final
  // write (another slot), so a moment after DESTROYED shows.
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        return stack.redis().Cmd(
                   {"ZSCORE", redis::keys::TenantLive(stack.redis_prefix(), "tenant-c"), id}) == "";
      },
      std::chrono::seconds(5)))
      << "still counted live";
}

TEST(Cancel, ACreateInAHookEndsItsProcessGroupAndIsDestroyed) {
  std::string dir = testing::EnvOr("TMPDIR", "/tmp") + "/cancel-hooks-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  {
    std::ofstream init(dir + "/init");
    // A hook that starts a child of its own and waits on it: both must go.
    init << "#!/bin/sh\necho $$ > " << dir << "/$LAMBDA_INSTANCE_ID.pid\nsleep 600 &\n"
         << "echo $! > " << dir << "/$LAMBDA_INSTANCE_ID.child\nwait\n";
  }
  ASSERT_EQ(chmod((dir + "/init").c_str(), 0755), 0);
  int port = testing::FreePort();
  Stack stack(
      Stack::Options{1, {}, {"--worker-http-port", std::to_string(port), "--hooks-dir", dir}});
  std::string key = stack.NewKey("tenant-c");
  std::string id = testing::CreateAs(stack, key, "hooked");
  auto pid_of = [&](const std::string& suffix) {
    std::ifstream in(dir + "/" + id + suffix);
    int pid = 0;
    in >> pid;
    return pid;
  };
  ASSERT_TRUE(stack.WaitFor([&] { return pid_of(".child") > 0; }));
  int hook = pid_of(".pid"), child = pid_of(".child");
  const std::string superseded =
      "lambda_worker_command_duration_seconds_count{action=\"create\",outcome=\"superseded\"}";
  auto asked = Clock::now();
  ASSERT_EQ(Action(stack, key, id, "cancel").status, 202);
  bool freed =
      testing::WaitFor([&] { return Metric(port, superseded) == 1; }, std::chrono::seconds(10));
  long freed_ms = Ms(Clock::now() - asked);
  auto dead = [](int pid) {  // dead, or a zombie its new parent has not reaped yet
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    return !std::getline(stat, line) || line.find(") Z") != std::string::npos;
  };
  bool gone = testing::WaitFor([&] { return dead(hook) && dead(child); }, std::chrono::seconds(10));
  long gone_ms = Ms(Clock::now() - asked);
  bool destroyed = stack.WaitStatus(id, "DESTROYED", std::chrono::seconds(10));
  std::printf("cancel in a hook: slot free %ld ms, process group gone %ld ms, sim VMs left %zu\n",
              freed_ms, gone_ms, SimVms(stack, id));
  EXPECT_TRUE(freed);
  EXPECT_LE(freed_ms, 1000);
  EXPECT_TRUE(gone) << "the hook (or its child) still runs " << gone_ms << " ms after the cancel";
  EXPECT_TRUE(destroyed) << stack.StatusOf(id);
  EXPECT_EQ(SimVms(stack, id), 0U);
  if (!gone) {
    kill(-hook, SIGKILL);
    kill(child, SIGKILL);
  }
  testing::RunCommand("rm -rf " + dir);
}

TEST(Cancel, AStopGoesBackToStartedAndAStartToStopped) {
  Stack stack(Stack::Options{1, {}, {}});
  std::string key = stack.NewKey("tenant-c");
  std::string id = testing::CreateAs(stack, key, "flip", R"("simulate":{"step_ms":400})");
  ASSERT_TRUE(stack.WaitStatus(id, "STARTED", std::chrono::seconds(30))) << stack.StatusOf(id);
  // A stop: its services step waits 400 ms; cancelled, the instance starts again.
  ASSERT_EQ(Action(stack, key, id, "stop").status, 202);
  auto r = Action(stack, key, id, "cancel");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(stack.StatusOf(id), "STARTING");
  // A cancel of the rollback is refused: it would undo the cancel.
  auto again = Action(stack, key, id, "cancel");
  EXPECT_EQ(again.status, 409) << again.body;
  ASSERT_TRUE(stack.WaitStatus(id, "STARTED", std::chrono::seconds(10))) << stack.StatusOf(id);
  auto h = stack.History(id);
  EXPECT_EQ(std::vector<std::string>(h.end() - 3, h.end()),
            (std::vector<std::string>{"STOPPING", "STARTING", "STARTED"}));
  // A start: cancelled, it stops again.
  ASSERT_EQ(Action(stack, key, id, "stop").status, 202);
  ASSERT_TRUE(stack.WaitStatus(id, "STOPPED", std::chrono::seconds(10))) << stack.StatusOf(id);
  ASSERT_EQ(Action(stack, key, id, "start").status, 202);
  r = Action(stack, key, id, "cancel");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(stack.StatusOf(id), "STOPPING");
  ASSERT_TRUE(stack.WaitStatus(id, "STOPPED", std::chrono::seconds(10))) << stack.StatusOf(id);
  h = stack.History(id);
  EXPECT_EQ(std::vector<std::string>(h.end() - 3, h.end()),
            (std::vector<std::string>{"STARTING", "STOPPING", "STOPPED"}));
  std::string events = Events(stack, key, id);
  EXPECT_NE(events.find(R"("reason":"cancelled")"), std::string::npos) << events;
  // Its VMs are shut off again, none destroyed.
  EXPECT_EQ(SimVms(stack, id), 3U);
}

TEST(Cancel, ASettledInstanceIsA409AndNothingChanges) {
  Stack stack(Stack::Options{1, {}, {}});
  std::string key = stack.NewKey("tenant-c");
  std::string id = testing::CreateAs(stack, key, "settled");
  ASSERT_TRUE(stack.WaitStatus(id, "STARTED", std::chrono::seconds(20))) << stack.StatusOf(id);
  auto inst = redis::keys::Instance(stack.redis_prefix(), id);
  std::string gen = stack.redis().Cmd({"HGET", inst, "gen"});
  size_t entries = stack.History(id).size();
  auto r = Action(stack, key, id, "cancel");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("Can't cancel a lambda instance while lambda instance status is STARTED."),
            std::string::npos)
      << r.body;
  EXPECT_EQ(stack.redis().Cmd({"HGET", inst, "gen"}), gen);
  EXPECT_EQ(stack.History(id).size(), entries);
  EXPECT_EQ(stack.StatusOf(id), "STARTED");
  // Another tenant's instance is not found; in a batch, cancel is an action like the others.
  std::string other = stack.NewKey("tenant-d");
  EXPECT_EQ(Action(stack, other, id, "cancel").status, 404);
  auto batch = Http("POST", stack.url() + "/api/lambda-instances/actions",
                    {"X-API-Key: " + key, "Content-Type: application/json"},
                    R"({"action":"cancel","ids":[")" + id + R"("]})");
  EXPECT_NE(batch.body.find("409"), std::string::npos) << batch.status << " " << batch.body;
  EXPECT_EQ(stack.redis().Cmd({"HGET", inst, "gen"}), gen);
}

TEST(Cancel, TheSlotFreesForTheTenantsNextCommand) {
  // One slot for the tenant: its second create waits behind the first until the cancel.
  int port = testing::FreePort();
  Stack stack(Stack::Options{
      1, {}, {"--worker-http-port", std::to_string(port), "--max-tenant-jobs", "1"}});
  std::string key = stack.NewKey("tenant-c");
  std::string slow = testing::CreateAs(stack, key, "slow", R"("simulate":{"step_ms":60000})");
  ASSERT_TRUE(stack.WaitFor([&] { return Metric(port, "lambda_worker_in_flight") == 1; }));
  std::string next = testing::CreateAs(stack, key, "next");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(stack.StatusOf(next), "PENDING");  // it waits for the tenant's slot
  auto asked = Clock::now();
  ASSERT_EQ(Action(stack, key, slow, "cancel").status, 202);
  bool ran = stack.WaitStatus(next, "STARTED", std::chrono::seconds(20));
  long ms = Ms(Clock::now() - asked);
  std::printf("cancel: the tenant's next create STARTED %ld ms after the cancel\n", ms);
  EXPECT_TRUE(ran) << stack.StatusOf(next);
  // The rollback of a 60 s-per-step create still releases everything (its destroy waits a step).
  EXPECT_TRUE(stack.WaitStatus(slow, "DESTROYING", std::chrono::seconds(1)));
}

}  // namespace
}  // namespace lambda

// Fair dispatch (SPEC §5, issue 33 findings 3 and 4), mounted for real: one tenant's slow
// creates must not keep another tenant's create from running; a superseded job's step (a sim
// wait, a hook's process group) is interrupted and its slot freed at once; and the reconciler
// does not copy commands that wait in a backlog.
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

/// One sample of a worker's /metrics (its value, or -1 when the series is absent).
double Metric(int port, const std::string& series) {
  auto r = Http("GET", "http://127.0.0.1:" + std::to_string(port) + "/metrics");
  size_t at = r.body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(r.body.substr(at + series.size() + 2));
}

const char* kSupersededCreates =
    "lambda_worker_command_duration_seconds_count{action=\"create\",outcome=\"superseded\"}";

long Ms(Clock::duration d) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

TEST(FairDispatch, ATenantsCreateStartsWhileAnotherHoldsEveryWorkerWithSlowCreates) {
  // Each create its own message, as when a client sends them one by one; a small prefetch
  // stands for the default 200 against 400 creates.
  Stack stack(Stack::Options{2, {"--max-commands-per-message", "1"}, {"--prefetch", "6"}});
  std::string key_b = stack.NewKey("tenant-b");
  std::string key_a = stack.NewKey("tenant-a");
  std::vector<std::string> slow;
  for (int i = 0; i < 40; ++i) {
    slow.push_back(testing::CreateAs(stack, key_b, "slow-" + std::to_string(i),
                                     R"("simulate":{"step_ms":120000})"));
  }
  // B's creates hold every slot they can get before A asks.
  ASSERT_TRUE(stack.WaitFor([&] {
    int claimed = 0;
    for (const auto& id : slow) {
      claimed += !stack.redis()
                      .Cmd({"HGET", redis::keys::Instance(stack.redis_prefix(), id), "claimed_by"})
                      .empty();
    }
    return claimed >= 4;
  }));
  auto asked = Clock::now();
  std::string a = testing::CreateAs(stack, key_a, "a-create");
  bool started = stack.WaitStatus(a, "STARTED", std::chrono::seconds(20));
  long ms = Ms(Clock::now() - asked);
  std::printf("tenant A: create to STARTED in %ld ms while tenant B holds %zu slow creates\n", ms,
              slow.size());
  ASSERT_TRUE(started) << "A's create is " << stack.StatusOf(a) << " after " << ms << " ms";
}

TEST(FairDispatch, ASupersededCreateFreesItsSlotAtOnceItsSimWaitInterrupted) {
  int port = testing::FreePort();
  Stack stack(
      Stack::Options{1, {}, {"--prefetch", "8", "--worker-http-port", std::to_string(port)}});
  std::string key = stack.NewKey("tenant-b");
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    ids.push_back(testing::CreateAs(stack, key, "slow-" + std::to_string(i),
                                    R"("simulate":{"step_ms":120000})"));
  }
  ASSERT_TRUE(stack.WaitFor([&] { return Metric(port, "lambda_worker_in_flight") == 2; }));
  ASSERT_EQ(Metric(port, kSupersededCreates), 0);
  auto stopped = Clock::now();
  for (const auto& id : ids) {
    // Feldera's stop supersedes a create in progress (a new gen fences the old command).
    ASSERT_EQ(Http("POST", stack.url() + "/v0/pipelines/" + id + "/stop",
                   {"Authorization: Bearer " + key})
                  .status,
              202);
  }
  bool freed = testing::WaitFor([&] { return Metric(port, kSupersededCreates) == 2; },
                                std::chrono::seconds(10));
  long ms = Ms(Clock::now() - stopped);
  std::printf("sim: both superseded creates ended %ld ms after their stops\n", ms);
  ASSERT_TRUE(freed) << "the superseded creates still hold their slots after " << ms << " ms";
  EXPECT_LE(ms, 1500);
}

TEST(FairDispatch, ASupersededCreateKillsItsHooksProcessGroup) {
  std::string dir = testing::EnvOr("TMPDIR", "/tmp") + "/fair-hooks-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  {
    std::ofstream init(dir + "/init");
    // A hook that starts a child of its own and waits on it: both must go.
    init << "#!/bin/sh\necho $$ > " << dir << "/$LAMBDA_INSTANCE_ID.pid\nsleep 600 &\n"
         << "echo $! > " << dir << "/$LAMBDA_INSTANCE_ID.child\nwait\n";
  }
  ASSERT_EQ(chmod((dir + "/init").c_str(), 0755), 0);
  int port = testing::FreePort();
  Stack stack(Stack::Options{
      1, {}, {"--prefetch", "4", "--worker-http-port", std::to_string(port), "--hooks-dir", dir}});
  std::string key = stack.NewKey("tenant-b");
  std::string id = testing::CreateAs(stack, key, "hooked");
  auto pid_of = [&](const std::string& suffix) {
    std::ifstream in(dir + "/" + id + suffix);
    int pid = 0;
    in >> pid;
    return pid;
  };
  ASSERT_TRUE(stack.WaitFor([&] { return pid_of(".child") > 0; }));
  int hook = pid_of(".pid"), child = pid_of(".child");
  ASSERT_EQ(kill(hook, 0), 0);
  auto stopped = Clock::now();
  ASSERT_EQ(
      Http("POST", stack.url() + "/v0/pipelines/" + id + "/stop", {"Authorization: Bearer " + key})
          .status,
      202);
  bool freed = testing::WaitFor([&] { return Metric(port, kSupersededCreates) == 1; },
                                std::chrono::seconds(10));
  long freed_ms = Ms(Clock::now() - stopped);
  // Dead, or a zombie its new parent has not reaped yet.
  auto dead = [](int pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    return !std::getline(stat, line) || line.find(") Z") != std::string::npos;
  };
  bool gone = testing::WaitFor([&] { return dead(hook) && dead(child); }, std::chrono::seconds(10));
  long gone_ms = Ms(Clock::now() - stopped);
  std::printf("hooks: slot free %ld ms, process group gone %ld ms after the stop\n", freed_ms,
              gone_ms);
  EXPECT_TRUE(gone) << "the hook (or its child) still runs " << gone_ms << " ms after the stop";
  EXPECT_TRUE(freed);
  EXPECT_LE(freed_ms, 1500);
  // The stop ran after it, on the instance's VMs (no hook of its own here).
  EXPECT_TRUE(stack.WaitStatus(id, "STOPPED", std::chrono::seconds(20))) << stack.StatusOf(id);
  if (!gone) {
    kill(-hook, SIGKILL);
    kill(child, SIGKILL);
  }
  testing::RunCommand("rm -rf " + dir);
}

TEST(FairDispatch, TheReconcilerCopiesNoCommandThatWaitsInABacklog) {
  // A backlog ten republish deadlines long: 12 slow creates against 1 worker with a few slots.
  int port = testing::FreePort();
  Stack stack(Stack::Options{1,
                             {"--max-commands-per-message", "1"},
                             {"--prefetch", "4", "--worker-http-port", std::to_string(port),
                              "--republish-after-ms", "1000", "--reconcile-interval-ms", "200"}});
  std::string key = stack.NewKey("tenant-b");
  const int pending = 12;
  for (int i = 0; i < pending; ++i) {
    testing::CreateAs(stack, key, "slow-" + std::to_string(i), R"("simulate":{"step_ms":120000})");
  }
  ASSERT_TRUE(stack.WaitFor([&] { return Metric(port, "lambda_worker_in_flight") >= 1; }));
  std::this_thread::sleep_for(std::chrono::seconds(10));
  double copies = Metric(port, "lambda_worker_reconciler_republished_total");
  std::printf(
      "reconciler: %.0f republishes of %d pending commands over 10 deadlines (%.2f per "
      "command)\n",
      copies, pending, copies / pending);
  ASSERT_GE(copies, 0);
  EXPECT_LE(copies, pending);  // at most one copy per pending command
}

// The issue's figures at full scale, with the workers' default slots and prefetch (200): tenant B
// sends 400 slow creates, tenant A one; then the reconciler's copies over 20 republish deadlines
// (the deadline shortened to 3 s: 60 s stand for the issue's 10 minutes); then B's stops
// supersede every create. Minutes long, so only when asked: LAMBDA_FAIR_FIGURES=1.
TEST(FairDispatch, FiguresAtScale) {
  if (testing::EnvOr("LAMBDA_FAIR_FIGURES").empty()) {
    GTEST_SKIP() << "skipped by design: set LAMBDA_FAIR_FIGURES=1 to measure at scale";
  }
  Stack stack(Stack::Options{0, {"--max-commands-per-message", "1"}, {}});
  std::vector<int> ports;
  for (int i = 0; i < 2; ++i) {
    ports.push_back(testing::FreePort());
    stack.StartWorker({"--worker-http-port", std::to_string(ports.back()), "--republish-after-ms",
                       "3000", "--reconcile-interval-ms", "500"});
  }
  auto sum = [&](const std::string& series) {
    double total = 0;
    for (int p : ports) total += std::max(Metric(p, series), 0.0);
    return total;
  };
  std::string key_b = stack.NewKey("tenant-b");
  std::string key_a = stack.NewKey("tenant-a");
  std::vector<std::string> slow;
  auto sent = Clock::now();
  for (int i = 0; i < 400; ++i) {
    slow.push_back(testing::CreateAs(stack, key_b, "slow-" + std::to_string(i),
                                     R"("simulate":{"step_ms":600000})"));
  }
  std::printf("figures: 400 creates of B admitted in %ld ms\n", Ms(Clock::now() - sent));
  auto asked = Clock::now();
  std::string a = testing::CreateAs(stack, key_a, "a-create");
  ASSERT_TRUE(stack.WaitStatus(a, "STARTED", std::chrono::seconds(60))) << stack.StatusOf(a);
  std::printf("figures: tenant A create to STARTED %ld ms; B running %.0f, held %.0f\n",
              Ms(Clock::now() - asked), sum("lambda_worker_in_flight"), sum("lambda_worker_held"));
  std::this_thread::sleep_for(std::chrono::seconds(60));
  double copies = sum("lambda_worker_reconciler_republished_total");
  std::printf(
      "figures: %.0f republishes of %zu pending creates over 20 deadlines (%.3f per "
      "command), %.0f deferrals\n",
      copies, slow.size(), copies / static_cast<double>(slow.size()),
      sum("lambda_worker_commands_deferred_total"));
  double running = sum("lambda_worker_in_flight");
  auto stopped = Clock::now();
  for (const auto& id : slow) {
    Http("POST", stack.url() + "/v0/pipelines/" + id + "/stop", {"Authorization: Bearer " + key_b});
  }
  long admitted_ms = Ms(Clock::now() - stopped);
  bool freed = testing::WaitFor([&] { return sum(kSupersededCreates) >= running; },
                                std::chrono::seconds(60));
  long all_ms = Ms(Clock::now() - stopped);
  std::printf(
      "figures: %.0f running creates superseded; 400 stops admitted over %ld ms, every "
      "slot free %ld ms after the first stop (%ld ms after the last)\n",
      running, admitted_ms, all_ms, all_ms - admitted_ms);
  EXPECT_TRUE(freed);
  EXPECT_LE(copies, static_cast<double>(slow.size()));
}

}  // namespace
}  // namespace lambda

// The providers on a real libuv loop: service hooks as real processes, the sim's idempotency,
// and the libvirt provider against libvirt's in-process test driver (test:///default), which
// defines, starts, shuts down and undefines domains and sends lifecycle events, without VMs.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include "lambda/util/util.h"
#include "lambda/uv/handle.h"
#include "ledger_view.h"
#include "providers/hooks/hooked_provider.h"
#include "providers/libvirt/libvirt_provider.h"
#include "providers/sim/sim_provider.h"
#include "run_until.h"

namespace lambda::worker {
namespace {

using testing::RunUntil;

class Loop : public ::testing::Test {
 protected:
  void SetUp() override { uv_loop_init(&loop_); }
  void TearDown() override {
    // Close whatever the test left (the objects are gone by now) and drain.
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  Operation Op(const std::string& request) {
    return Operation{request, 1, "test-worker",
                     [this](const LedgerEntry& e) { ledger_.push_back(e); }};
  }
  int Effects(const std::string& op, const std::string& target) {
    return testing::EffectCount(ledger_, op, target);
  }
  std::string Outcome(const std::string& op, const std::string& target) {
    return testing::LastOutcome(ledger_, op, target);
  }
  uv_loop_t loop_{};
  std::vector<LedgerEntry> ledger_;
};

// ---------------------------------------------------------------------------------------------
// Hooks

class Hooks : public Loop {
 protected:
  void SetUp() override {
    Loop::SetUp();
    char tmpl[] = "/tmp/lambda-hooks-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    [[maybe_unused]] int rc = system(("rm -rf " + dir_).c_str());
    Loop::TearDown();
  }
  void Hook(const std::string& name, const std::string& body, mode_t mode = 0755) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    chmod(path.c_str(), mode);
  }
  HookResult Run(const std::string& name, uint64_t timeout_ms = 5000) {
    HookRunner runner(&loop_, HookConfig{dir_, timeout_ms, 300, 64});
    std::optional<HookResult> out;
    runner.Run(name, {"PATH=/usr/bin:/bin", "LAMBDA_STEP=KAFKA"},
               [&](HookResult r) { out = std::move(r); });
    EXPECT_TRUE(RunUntil(&loop_, out, 15000));
    return out.value_or(HookResult{});
  }
  std::string dir_;
};

TEST_F(Hooks, MissingHookIsAStepWithNothingToDo) {
  auto r = Run("kafka");
  EXPECT_FALSE(r.ran);
  EXPECT_TRUE(r.ok());
}

TEST_F(Hooks, ExitZeroSeesTheEnvironment) {
  Hook("kafka", "echo \"step=$LAMBDA_STEP\"; [ -z \"$LAMBDA_REDIS_URL\" ]");
  auto r = Run("kafka");
  EXPECT_TRUE(r.ran);
  EXPECT_TRUE(r.ok()) << r.stderr_tail;
  EXPECT_EQ(r.stdout_tail, "step=KAFKA\n");
}

TEST_F(Hooks, NonZeroExitKeepsTheTailOfStderr) {
  Hook("kafka",
       "i=0; while [ $i -lt 50 ]; do echo \"noise line $i\" >&2; i=$((i+1)); done; "
       "echo 'broker 3 did not come up' >&2; exit 4");
  auto r = Run("kafka");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.exit_status, 4);
  EXPECT_LE(r.stderr_tail.size(), 64U);
  EXPECT_NE(r.stderr_tail.find("broker 3 did not come up"), std::string::npos);
  EXPECT_EQ(
      HookFailure("kafka", r, 5000),
      r.stderr_tail.substr(r.stderr_tail.find_first_not_of(" \n"),
                           r.stderr_tail.size() - 1 - r.stderr_tail.find_first_not_of(" \n")));
}

TEST_F(Hooks, TimeoutKillsTheWholeProcessGroup) {
  // The hook leaves a grandchild that ignores nothing and records its pid: the group kill
  // must take it too, not only the hook's own shell.
  std::string pidfile = dir_ + "/grandchild.pid";
  Hook("flink", "sleep 300 & echo $! > " + pidfile + "; wait");
  auto t0 = util::NowMs();
  auto r = Run("flink", 300);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.ok());
  EXPECT_LT(util::NowMs() - t0, 5000);
  int pid = 0;
  std::ifstream(pidfile) >> pid;
  ASSERT_GT(pid, 0);
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    // Dead or a zombie: the grandchild's new parent (PID 1 here) may reap it late.
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    gone = !std::getline(stat, line) || line.find(") Z") != std::string::npos;
    if (!gone) usleep(20000);
  }
  EXPECT_TRUE(gone) << "grandchild " << pid << " outlived the timeout";
  EXPECT_EQ(HookFailure("flink", r, 300), "hook flink timed out after 300 ms");
}

// A superseded command's hook (SPEC §5): its whole process group is killed at once, and the
// step reports within a second, not at the hook's timeout.
TEST_F(Hooks, ASupersededStepKillsTheHooksProcessGroupAtOnce) {
  std::string pidfile = dir_ + "/grandchild.pid";
  Hook("init", "sleep 300 & echo $! > " + pidfile + "; wait");
  SimProvider sim(&loop_, SimConfig{0, 0, 1, 0.0});
  HookRunner runner(&loop_, HookConfig{dir_, 600000, 2000, 2048});
  HookedProvider p(&sim, &runner);
  Operation op = Op("r1");
  InstanceSpec spec;
  spec.id = "i1";
  std::vector<ServerInfo> servers;
  std::optional<Status> st;
  p.Install(op, spec, servers, "INIT", [&](Status s) { st = std::move(s); });
  std::optional<bool> started;
  uv::Timer poll(&loop_);
  poll.Start(10, 10, [&] {
    if (std::ifstream(pidfile).peek() != EOF) started = true;
  });
  ASSERT_TRUE(RunUntil(&loop_, started, 10000));
  poll.Stop();
  int pid = 0;
  std::ifstream(pidfile) >> pid;
  ASSERT_GT(pid, 0);
  auto t0 = util::NowMs();
  op.cancel->Cancel();
  ASSERT_TRUE(RunUntil(&loop_, st, 5000));
  EXPECT_LT(util::NowMs() - t0, 1000);
  ASSERT_FALSE(*st);
  EXPECT_EQ(st->error().code, Code::kConflict);
  EXPECT_EQ(Outcome("hook", "init"), "interrupted");
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  EXPECT_TRUE(!std::getline(stat, line) || line.find(") Z") != std::string::npos)
      << "grandchild " << pid << " outlived the interruption";
}

TEST_F(Loop, ASupersededSimWaitEndsAtOnceAndOneCancelledBeforeNeverStarts) {
  SimProvider sim(&loop_, SimConfig{60000, 60000, 1, 0.0});
  InstanceSpec spec;
  spec.id = "i3";
  Operation op = Op("r1");
  std::vector<ServerInfo> servers;
  std::optional<Status> st;
  sim.Install(op, spec, servers, "KAFKA", [&](Status s) { st = std::move(s); });
  uv::Timer later(&loop_);
  later.Start(50, 0, [&] { op.cancel->Cancel(); });
  auto t0 = util::NowMs();
  ASSERT_TRUE(RunUntil(&loop_, st, 5000));
  EXPECT_LT(util::NowMs() - t0, 1000);
  ASSERT_FALSE(*st);
  EXPECT_EQ(st->error().code, Code::kConflict);
  st.reset();
  sim.StartVm(op, spec, &servers.emplace_back(), [&](Status s) { st = std::move(s); });
  ASSERT_TRUE(st.has_value());  // already cancelled: answered in the call
  EXPECT_FALSE(*st);
}

TEST_F(Hooks, NotExecutableIsAFailureThatSaysSo) {
  Hook("hadoop", "exit 0", 0644);
  auto r = Run("hadoop");
  EXPECT_TRUE(r.ran);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(HookFailure("hadoop", r, 1).find("could not start"), std::string::npos);
}

TEST_F(Hooks, HookedProviderFailsTheStepWithTheHooksWordsAndRecordsIt) {
  Hook("kafka", "echo \"no brokers for $LAMBDA_INSTANCE_NAME\" >&2; exit 1");
  Hook("start-services", "exit 0");
  SimProvider sim(&loop_, SimConfig{0, 0, 1, 0.0});
  HookRunner runner(&loop_, HookConfig{dir_, 5000, 300, 2048});
  HookedProvider p(&sim, &runner);
  Operation op = Op("r1");
  InstanceSpec spec;
  spec.id = "i1";
  spec.name = "c1";
  std::vector<ServerInfo> servers;
  std::optional<Status> st;
  p.Install(op, spec, servers, "KAFKA", [&](Status s) { st = std::move(s); });
  ASSERT_TRUE(RunUntil(&loop_, st));
  ASSERT_FALSE(*st);
  EXPECT_EQ(st->error().message, "no brokers for c1");
  EXPECT_EQ(Outcome("hook", "kafka"), "failed");
  st.reset();
  p.Install(op, spec, servers, "HADOOP", [&](Status s) { st = std::move(s); });  // no hook
  ASSERT_TRUE(RunUntil(&loop_, st));
  EXPECT_TRUE(*st);
  st.reset();
  p.StartServices(op, spec, servers, [&](Status s) { st = std::move(s); });
  ASSERT_TRUE(RunUntil(&loop_, st));
  EXPECT_TRUE(*st);
  EXPECT_EQ(Outcome("hook", "start-services"), "ran");
}

// ---------------------------------------------------------------------------------------------
// sim: the same operation twice takes effect once

TEST_F(Loop, SimIsIdempotentLikeACloud) {
  SimProvider sim(&loop_, SimConfig{0, 0, 1, 0.0});
  InstanceSpec spec;
  spec.id = "i2";
  spec.slaves = 1;
  Operation op = Op("r1");
  for (int run = 0; run < 2; ++run) {
    std::vector<ServerInfo> servers;
    std::optional<Status> st;
    sim.CreateCluster(op, spec, &servers, [&](Status s) { st = std::move(s); });
    ASSERT_TRUE(RunUntil(&loop_, st));
    ASSERT_TRUE(*st);
    ASSERT_EQ(servers.size(), 2U);
    EXPECT_EQ(servers[1].name, "lambda-i2-slave-1");
  }
  EXPECT_EQ(Effects("create_vm", "lambda-i2-master"), 1);
  EXPECT_EQ(Outcome("create_vm", "lambda-i2-master"), "reused");
}

// ---------------------------------------------------------------------------------------------
// libvirt against test:///default

class Libvirt : public Loop {
 protected:
  std::unique_ptr<libvirt::LibvirtProvider> Make(
      const std::string& uri = "test:///default",
      const std::function<void(libvirt::LibvirtConfig&)>& tweak = {}) {
    libvirt::LibvirtConfig c;
    c.uri = uri;
    c.guest.domain_type = "test";
    c.guest.kernel = "/nonexistent/vmlinuz";  // the test driver boots nothing
    c.guest.initrd = "/nonexistent/initrd.gz";
    c.stop_timeout_ms = 2000;
    c.shutdown_retry_ms = 200;
    if (tweak) tweak(c);
    return std::make_unique<libvirt::LibvirtProvider>(&loop_, c);
  }
  Status Wait(const std::function<void(Provider::Done)>& op) {
    Status st =
        testing::RunOp<Status>(&loop_, op, 10000, Status(Error{Code::kTimeout, "no answer"}));
    EXPECT_NE(st ? Code::kOk : st.error().code, Code::kTimeout) << "no answer";
    return st;
  }
  bool Exists(libvirt::LibvirtProvider& p, const std::string& name) {
    auto r = p.session().Exists(name);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r && *r;
  }
};

TEST_F(Libvirt, CreateStopStartDestroyWithTheLedger) {
  auto p = Make();
  InstanceSpec spec;
  spec.id = util::RandomToken(6);
  spec.name = "lv";
  spec.slaves = 1;
  Operation op = Op("r-create");
  std::vector<ServerInfo> servers;
  ASSERT_TRUE(Wait([&](auto d) { p->CreateCluster(op, spec, &servers, d); }));
  ASSERT_EQ(servers.size(), 2U);
  std::string master = "lambda-" + spec.id + "-master", slave = "lambda-" + spec.id + "-slave-1";
  EXPECT_EQ(servers[0].name, master);
  EXPECT_EQ(servers[0].id, libvirt::DomainUuid(spec.id, 0));
  EXPECT_GT(servers[0].ssh_port, 0);
  EXPECT_NE(servers[0].ssh_port, servers[1].ssh_port);
  EXPECT_TRUE(Exists(*p, master));
  EXPECT_TRUE(Exists(*p, slave));
  EXPECT_EQ(Outcome("create_vm", master), "created");
  EXPECT_EQ(Outcome("start_vm", master), "started");

  // A second worker reruns the same create: it finds both domains, makes none, keeps the ports.
  int port = servers[0].ssh_port;
  std::vector<ServerInfo> again;
  ASSERT_TRUE(Wait([&](auto d) { p->CreateCluster(op, spec, &again, d); }));
  EXPECT_EQ(Effects("create_vm", master), 1);
  EXPECT_EQ(Outcome("create_vm", master), "reused");
  EXPECT_EQ(Outcome("start_vm", master), "already_running");
  EXPECT_EQ(again[0].ssh_port, port);

  Operation stop = Op("r-stop");
  ASSERT_TRUE(Wait([&](auto d) { p->StopVm(stop, spec, &servers[0], d); }));
  EXPECT_EQ(servers[0].status, "SHUTOFF");
  EXPECT_EQ(Outcome("stop_vm", master), "stopped");
  ASSERT_TRUE(Wait([&](auto d) { p->StopVm(stop, spec, &servers[0], d); }));
  EXPECT_EQ(Outcome("stop_vm", master), "already_stopped");

  Operation start = Op("r-start");
  ASSERT_TRUE(Wait([&](auto d) { p->StartVm(start, spec, &servers[0], d); }));
  EXPECT_EQ(Outcome("start_vm", master), "started");
  EXPECT_EQ(servers[0].status, "ACTIVE");

  Operation destroy = Op("r-destroy");
  ASSERT_TRUE(Wait([&](auto d) { p->DestroyCluster(destroy, spec, &servers, d); }));
  EXPECT_FALSE(Exists(*p, master));
  EXPECT_FALSE(Exists(*p, slave));
  EXPECT_EQ(Outcome("destroy_vm", slave), "destroyed");
  EXPECT_EQ(servers[0].status, "DELETED");
  ASSERT_TRUE(Wait([&](auto d) { p->DestroyCluster(destroy, spec, &servers, d); }));
  EXPECT_EQ(Outcome("destroy_vm", master), "absent");
  EXPECT_EQ(Effects("destroy_vm", master), 1);
}

TEST_F(Libvirt, DestroyFindsVmsNobodyRecorded) {
  // A create that died after its first define left a domain the instance's servers never
  // listed: destroy goes by the deterministic names, not by the record.
  auto p = Make();
  InstanceSpec spec;
  spec.id = util::RandomToken(6);
  spec.slaves = 2;
  Operation op = Op("r");
  std::vector<ServerInfo> servers;
  ASSERT_TRUE(Wait([&](auto d) { p->CreateCluster(op, spec, &servers, d); }));
  std::vector<ServerInfo> none;
  ASSERT_TRUE(Wait([&](auto d) { p->DestroyCluster(op, spec, &none, d); }));
  for (int i = 0; i <= 2; ++i) EXPECT_FALSE(Exists(*p, VmName(spec.id, i)));
}

TEST_F(Libvirt, DiskImagesAreOverlaidSeededAndRemoved) {
  char tmpl[] = "/tmp/lambda-disks-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  ASSERT_EQ(system(("qemu-img create -q -f qcow2 " + dir + "/base.qcow2 1G").c_str()), 0);
  libvirt::LibvirtConfig c;
  c.uri = "test:///default";
  c.guest.domain_type = "test";
  c.guest.image = dir + "/base.qcow2";
  c.guest.disk_dir = dir + "/vms";
  c.guest.ssh_key = "ssh-ed25519 AAAAtest";
  libvirt::LibvirtProvider p(&loop_, c);
  InstanceSpec spec;
  spec.id = util::RandomToken(6);
  spec.slaves = 1;
  spec.disk_slave_gib = 7;
  Operation op = Op("r");
  std::vector<ServerInfo> servers;
  ASSERT_TRUE(Wait([&](auto d) { p.CreateCluster(op, spec, &servers, d); }));
  std::string slave = VmName(spec.id, 1);
  std::string overlay = libvirt::DiskPath(c.guest, slave), seed = libvirt::SeedPath(c.guest, slave);
  struct stat st {};
  ASSERT_EQ(stat(overlay.c_str(), &st), 0);
  ASSERT_EQ(stat(seed.c_str(), &st), 0);
  EXPECT_GT(st.st_size, 0);
  // The overlay is the spec's size on the base image.
  FILE* info = popen(("qemu-img info " + overlay).c_str(), "r");
  char buf[4096] = {};
  size_t n = fread(buf, 1, sizeof buf - 1, info);
  pclose(info);
  std::string text(buf, n);
  EXPECT_NE(text.find("7 GiB"), std::string::npos) << text;
  EXPECT_NE(text.find("base.qcow2"), std::string::npos) << text;
  auto xml = p.session().XmlOf(slave);
  ASSERT_TRUE(xml);
  EXPECT_NE(xml->find(overlay), std::string::npos);
  EXPECT_NE(xml->find(seed), std::string::npos);
  ASSERT_TRUE(Wait([&](auto d) { p.DestroyCluster(op, spec, &servers, d); }));
  EXPECT_NE(stat(overlay.c_str(), &st), 0);
  EXPECT_NE(stat(seed.c_str(), &st), 0);
  [[maybe_unused]] int rc = system(("rm -rf " + dir).c_str());
}

TEST_F(Libvirt, StartingAMissingVmFailsForGood) {
  auto p = Make();
  InstanceSpec spec;
  spec.id = util::RandomToken(6);
  ServerInfo ghost;
  ghost.name = VmName(spec.id, 0);
  Operation op = Op("r");
  auto st = Wait([&](auto d) { p->StartVm(op, spec, &ghost, d); });
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().code, Code::kUnavailable);
  EXPECT_NE(st.error().message.find("no domain named " + ghost.name), std::string::npos);
  EXPECT_EQ(Outcome("start_vm", ghost.name), "failed");
}

TEST_F(Libvirt, AnUnreachableDaemonIsTransient) {
  auto p = Make("qemu+unix:///system?socket=/nonexistent/libvirt-sock");
  InstanceSpec spec;
  spec.id = util::RandomToken(6);
  Operation op = Op("r");
  std::vector<ServerInfo> servers;
  auto st = Wait([&](auto d) { p->CreateCluster(op, spec, &servers, d); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::kUnavailable) << st.error().message;
}

TEST_F(Libvirt, ABadDefinitionFailsTheStepWithLibvirtsWords) {
  libvirt::LibvirtConfig c;
  c.uri = "test:///default";
  c.guest.domain_type = "no-such-hypervisor";
  c.guest.kernel = "/k";
  c.guest.initrd = "/i";
  libvirt::LibvirtProvider p(&loop_, c);
  InstanceSpec spec;
  spec.id = util::RandomToken(6);
  Operation op = Op("r");
  std::vector<ServerInfo> servers;
  auto st = Wait([&](auto d) { p.CreateCluster(op, spec, &servers, d); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::kInternal);
  EXPECT_NE(st.error().message.find("libvirt: defining lambda-" + spec.id + "-master"),
            std::string::npos)
      << st.error().message;
}

// Interruption (SPEC §5, issue 33): test:///default shuts a domain down at once, so these put a
// guest that ignores ACPI in place of the blocking call, and a wait really happens.

/// A guest that ignores ACPI: every shutdown is sent and it keeps running; each call takes
/// `call_ms` on the pool.
std::function<void(libvirt::LibvirtConfig&)> IgnoresAcpi(std::shared_ptr<std::atomic<int>> calls,
                                                         int call_ms) {
  return [calls, call_ms](libvirt::LibvirtConfig& c) {
    c.stop_timeout_ms = 120000;
    c.shutdown_retry_ms = 60000;
    c.stop_call = [calls, call_ms](libvirt::Session&, const std::string&, bool) {
      ++*calls;
      if (call_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(call_ms));
      libvirt::VmState s;
      s.outcome = "shutdown_sent";
      s.active = true;
      return Result<libvirt::VmState>(s);
    };
  };
}

TEST_F(Libvirt, ACancelledStopEndsItsAcpiWaitAtOnce) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto p = Make("test:///default", IgnoresAcpi(calls, 0));
  InstanceSpec spec;
  spec.id = util::RandomToken(6);
  ServerInfo vm;
  vm.name = VmName(spec.id, 0);
  Operation op = Op("r-stop");
  std::optional<Status> st;
  p->StopVm(op, spec, &vm, [&](Status s) { st = std::move(s); });
  // The first shutdown is sent; the provider now waits shutdown_retry_ms (a minute) for the next.
  for (int i = 0; i < 500 && calls->load() < 1; ++i) {
    uv_run(&loop_, UV_RUN_NOWAIT);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(calls->load(), 1);
  uv::Timer later(&loop_);
  int64_t cancelled_at = 0;
  later.Start(100, 0, [&] {
    cancelled_at = util::NowMs();
    op.cancel->Cancel();
  });
  ASSERT_TRUE(RunUntil(&loop_, st, 5000));
  long ms = static_cast<long>(util::NowMs() - cancelled_at);
  std::printf("libvirt: a cancelled ACPI wait ended %ld ms after the cancel\n", ms);
  EXPECT_LT(ms, 1000);
  ASSERT_FALSE(*st);
  EXPECT_EQ(st->error().code, Code::kConflict);
  EXPECT_EQ(Outcome("stop_vm", vm.name), "interrupted");
  EXPECT_EQ(calls->load(), 1);
  // Cancelled before it starts: answered in the call, nothing sent.
  st.reset();
  p->StopVm(op, spec, &vm, [&](Status s) { st = std::move(s); });
  ASSERT_TRUE(st.has_value());
  EXPECT_FALSE(*st);
  EXPECT_EQ(calls->load(), 1);
}

TEST_F(Libvirt, ACancelledStopWaitsOutTheCallUnderWayButNotTheNextWait) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto p = Make("test:///default", IgnoresAcpi(calls, 400));
  InstanceSpec spec;
  spec.id = util::RandomToken(6);
  ServerInfo vm;
  vm.name = VmName(spec.id, 0);
  Operation op = Op("r-stop");
  std::optional<Status> st;
  auto t0 = util::NowMs();
  p->StopVm(op, spec, &vm, [&](Status s) { st = std::move(s); });
  uv::Timer later(&loop_);
  later.Start(50, 0, [&] { op.cancel->Cancel(); });
  ASSERT_TRUE(RunUntil(&loop_, st, 5000));
  long ms = static_cast<long>(util::NowMs() - t0);
  EXPECT_GE(ms, 390);   // the blocking call could not be interrupted
  EXPECT_LT(ms, 1400);  // but the minute's wait after it never began
  ASSERT_FALSE(*st);
  EXPECT_EQ(st->error().code, Code::kConflict);
  EXPECT_EQ(calls->load(), 1);
}

TEST_F(Libvirt, ACancelledCreateMakesNoFurtherVmAndItsRollbackLeavesNone) {
  auto p = Make();
  InstanceSpec spec;
  spec.id = util::RandomToken(6);
  spec.slaves = 3;
  Operation op = Op("r-create");
  std::vector<ServerInfo> servers;
  std::optional<Status> st;
  p->CreateCluster(op, spec, &servers, [&](Status s) { st = std::move(s); });
  op.cancel->Cancel();  // while the master's define and start run on the pool
  ASSERT_TRUE(RunUntil(&loop_, st, 5000));
  ASSERT_FALSE(*st);
  EXPECT_EQ(st->error().code, Code::kConflict);
  int left = 0;
  for (int i = 0; i <= 3; ++i) left += Exists(*p, VmName(spec.id, i));
  EXPECT_EQ(left, 1) << "the create went on after its cancel";
  Operation rollback = Op("r-cancel");
  ASSERT_TRUE(Wait([&](auto d) { p->DestroyCluster(rollback, spec, &servers, d); }));
  left = 0;
  for (int i = 0; i <= 3; ++i) left += Exists(*p, VmName(spec.id, i));
  std::printf("libvirt: domains left after a cancelled create's rollback: %d\n", left);
  EXPECT_EQ(left, 0);
}

}  // namespace
}  // namespace lambda::worker

// End to end with real QEMU VMs (SPEC §6 `libvirt`): the real binaries on real Redis and
// RabbitMQ, workers driving libvirtd (qemu:///system) with the test guest of
// scripts/guest-image, and the test guest's hooks running over SSH inside the VMs. Two small
// VMs at a time at most (128–160 MiB each, TCG).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "lambda/redis/keys.h"
#include "ledger_stream.h"
#include "support.h"

namespace lambda {
namespace {

using testing::EnvOr;
using testing::Http;
using testing::Json;
using testing::Stack;

/// A command's stdout (the test reads libvirt through virsh, as an operator would).
std::string Sh(const std::string& cmd) { return testing::RunCommand(cmd).out; }

std::string Uri() { return EnvOr("LAMBDA_TEST_LIBVIRT_URI", "qemu:///system"); }

/// name -> state ("running", "shut off") of the instance's domains.
std::map<std::string, std::string> Domains(const std::string& instance_id) {
  std::map<std::string, std::string> out;
  std::istringstream names(Sh("virsh -c " + Uri() + " list --all --name 2>/dev/null"));
  for (std::string name; std::getline(names, name);) {
    if (name.rfind("lambda-" + instance_id + "-", 0) != 0) continue;
    std::string state = Sh("virsh -c " + Uri() + " domstate " + name + " 2>/dev/null");
    out[name] = state.substr(0, state.find('\n'));
  }
  return out;
}

class Vms : public ::testing::Test {
 protected:
  void SetUp() override {
    guest_ = EnvOr("LAMBDA_TEST_GUEST_DIR");
    ASSERT_FALSE(guest_.empty()) << "run under tests/with_servers.sh libvirt";
    char tmpl[] = "/tmp/lambda-vm-hooks-XXXXXX";
    out_dir_ = mkdtemp(tmpl);
    // mkdtemp makes it 0700; QEMU runs as libvirt's own user (libvirt-qemu on Debian) unless
    // start_libvirt made it root (a root-only /dev/kvm), and must reach the disks made below.
    ASSERT_EQ(chmod(out_dir_.c_str(), 0711), 0);
    setenv("HOOK_SSH_KEY", (guest_ + "/id_ed25519").c_str(), 1);
    setenv("HOOK_OUT_DIR", out_dir_.c_str(), 1);
  }
  void TearDown() override {
    // Whatever a failed test left behind goes, so VMs never pile up across runs.
    for (const auto& id : ids_) {
      for (const auto& [name, state] : Domains(id)) {
        Sh("virsh -c " + Uri() + " destroy " + name + " >/dev/null 2>&1");
        Sh("virsh -c " + Uri() + " undefine " + name + " >/dev/null 2>&1");
      }
    }
    Sh("rm -rf " + out_dir_);
  }
  Stack::Options Options(int workers) {
    Stack::Options o;
    o.workers = workers;
    o.shim_flags = {"--provider=libvirt"};
    o.worker_flags = {"--provider=libvirt",
                      "--libvirt-uri=" + Uri(),
                      "--libvirt-kernel=" + guest_ + "/vmlinuz",
                      "--libvirt-initrd=" + guest_ + "/initrd.gz",
                      "--ssh-public-key-file=" + guest_ + "/id_ed25519.pub",
                      "--libvirt-max-vcpus=1",
                      "--libvirt-max-ram-mib=160",
                      "--vm-stop-timeout-ms=30000",
                      "--hooks-dir=" + EnvOr("LAMBDA_SOURCE_DIR") + "/hooks/test-guest",
                      "--hook-timeout-ms=150000",
                      "--lease-ms=4000",
                      "--create-timeout-ms=600000"};
    return o;
  }
  std::string Create(Stack& stack, const std::string& key, const std::string& name,
                     int slaves = 1) {
    std::string body = R"({"instance_name":")" + name + R"(","master_name":"m","slaves":)" +
                       std::to_string(slaves) +
                       R"(,"vcpus_master":1,"vcpus_slave":1,"ram_master":512,)"
                       R"("ram_slave":512,"disk_master":5,"disk_slave":5,"ip_allocation":"master",)"
                       R"("network_request":1,"project_name":"p"})";
    auto r = Http("POST", stack.url() + "/api/lambda-instances/",
                  {"Authorization: Token " + key, "Content-Type: application/json"}, body);
    EXPECT_EQ(r.status, 202) << r.body;
    if (r.status != 202) return "";
    std::string id = Json(r.body)["data"][0]["id"].GetString();
    ids_.push_back(id);
    return id;
  }
  static void Act(Stack& stack, const std::string& key, const std::string& id,
                  const std::string& action) {
    std::string url = stack.url() + "/api/lambda-instances/" + id + "/";
    std::vector<std::string> h{"Authorization: Token " + key, "Content-Type: application/json"};
    auto r = action == "destroy" ? Http("DELETE", url, h)
                                 : Http("POST", url, h, R"({"action":")" + action + R"("})");
    EXPECT_EQ(r.status, 202) << action << ": " << r.body;
  }
  std::string HookLog() {
    std::ifstream in(out_dir_ + "/hooks.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  /// The ledger's entries as "op target outcome" lines.
  static std::vector<std::string> Ledger(Stack& stack, const std::string& id) {
    std::vector<std::string> out;
    for (const auto& entry :
         stack.redis().Array({"XRANGE", stack.redis_prefix() + "ops:" + id, "-", "+"})) {
      for (const auto& op : testing::ParseLedgerEntry(entry)) {
        out.push_back(op.op + " " + op.target + " " + op.outcome);
      }
    }
    return out;
  }
  static int Count(const std::vector<std::string>& ledger, const std::string& line) {
    int n = 0;
    for (const auto& l : ledger) n += l == line;
    return n;
  }

  std::string guest_;
  std::string out_dir_;
  std::vector<std::string> ids_;
};

TEST_F(Vms, CreateStopStartDestroyRealVms) {
  Stack stack(Options(1));
  std::string key = stack.NewKey("vm-tenant");
  auto t0 = std::chrono::steady_clock::now();
  auto ms = [&t0] {
    auto d = std::chrono::steady_clock::now() - t0;
    t0 = std::chrono::steady_clock::now();
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  std::string id = Create(stack, key, "real");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(stack.WaitStatus(id, "STARTED", std::chrono::seconds(240)))
      << stack.StatusOf(id) << " "
      << stack.redis().Cmd(
             {"HGET", redis::keys::Instance(stack.redis_prefix(), id), "failure_message"});
  std::printf("[ figures ] create (2 VMs, hooks over SSH) -> STARTED: %lld ms\n",
              static_cast<long long>(ms()));
  std::string master = "lambda-" + id + "-master", slave = "lambda-" + id + "-slave-1";
  auto d = Domains(id);
  ASSERT_EQ(d.size(), 2U);
  EXPECT_EQ(d[master], "running");
  EXPECT_EQ(d[slave], "running");
  // The init hook ran inside both guests: each answered SSH with its own name.
  std::string log = HookLog();
  EXPECT_NE(log.find("init " + id + " gen=1 " + master), std::string::npos) << log;
  EXPECT_NE(log.find("init " + id + " gen=1 " + slave), std::string::npos) << log;
  // Once each: a create that reran a step would show here.
  EXPECT_EQ(log.find("init " + id + " gen=1 " + master),
            log.rfind("init " + id + " gen=1 " + master))
      << log;
  // servers: both VMs with their domain UUIDs and forwarded SSH ports.
  auto info = Http("GET", stack.url() + "/api/lambda-instances/" + id + "/",
                   {"Authorization: Token " + key});
  auto doc = Json(info.body);
  ASSERT_TRUE(doc["data"][0]["servers"].IsArray()) << info.body;
  ASSERT_EQ(doc["data"][0]["servers"].Size(), 2U) << info.body;
  EXPECT_STREQ(doc["data"][0]["servers"][0]["name"].GetString(), master.c_str());
  EXPECT_GT(doc["data"][0]["servers"][0]["ssh_port"].GetInt(), 0);

  ms();
  Act(stack, key, id, "stop");
  ASSERT_TRUE(stack.WaitStatus(id, "STOPPED", std::chrono::seconds(120))) << stack.StatusOf(id);
  std::printf("[ figures ] stop (services hook, ACPI shutdown of 2 VMs): %lld ms\n",
              static_cast<long long>(ms()));
  d = Domains(id);
  EXPECT_EQ(d[master], "shut off");
  EXPECT_EQ(d[slave], "shut off");
  EXPECT_NE(HookLog().find("stop-services " + id + " " + master + " stopped"), std::string::npos);

  Act(stack, key, id, "start");
  ASSERT_TRUE(stack.WaitStatus(id, "STARTED", std::chrono::seconds(180))) << stack.StatusOf(id);
  std::printf("[ figures ] start (2 VMs, services hook over SSH): %lld ms\n",
              static_cast<long long>(ms()));
  d = Domains(id);
  EXPECT_EQ(d[master], "running");
  EXPECT_EQ(d[slave], "running");
  EXPECT_NE(HookLog().find("start-services " + id + " " + master + " running"), std::string::npos)
      << HookLog();

  Act(stack, key, id, "destroy");
  ASSERT_TRUE(stack.WaitStatus(id, "DESTROYED", std::chrono::seconds(120))) << stack.StatusOf(id);
  std::printf("[ figures ] destroy (power off + undefine 2 VMs): %lld ms\n",
              static_cast<long long>(ms()));
  EXPECT_TRUE(Domains(id).empty());

  auto ledger = Ledger(stack, id);
  EXPECT_EQ(Count(ledger, "create_vm " + master + " created"), 1);
  EXPECT_EQ(Count(ledger, "stop_vm " + master + " stopped"), 1);
  EXPECT_EQ(Count(ledger, "destroy_vm " + slave + " destroyed"), 1);
}

TEST_F(Vms, AWorkerKilledMidCreateLeavesOneDomainPerServer) {
  Stack stack(Options(1));
  std::string key = stack.NewKey("vm-kill");
  std::string id = Create(stack, key, "killed");
  ASSERT_FALSE(id.empty());
  std::string ops = stack.redis_prefix() + "ops:" + id;
  // The master's define is in the ledger: the create is half-way through its VMs.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return stack.redis().Int({"XLEN", ops}) >= 1;
      },
      std::chrono::seconds(60)));
  stack.worker(0).Signal(SIGKILL);
  ASSERT_EQ(stack.worker(0).Wait(std::chrono::seconds(5)), -1);  // killed, not exited
  auto before = Ledger(stack, id);
  std::printf("[ figures ] ledger at the kill: %zu entries\n", before.size());
  ASSERT_NE(stack.StatusOf(id), "STARTED") << "the kill came too late to test anything";

  stack.StartWorker();
  ASSERT_TRUE(stack.WaitStatus(id, "STARTED", std::chrono::seconds(240))) << stack.StatusOf(id);
  auto d = Domains(id);
  EXPECT_EQ(d.size(), 2U);
  EXPECT_EQ(d["lambda-" + id + "-master"], "running");
  EXPECT_EQ(d["lambda-" + id + "-slave-1"], "running");
  auto ledger = Ledger(stack, id);
  for (const char* vm : {"-master", "-slave-1"}) {
    std::string name = "lambda-" + id + vm;
    EXPECT_LE(Count(ledger, "create_vm " + name + " created"), 1) << name;
  }
  EXPECT_GE(Count(ledger, "create_vm lambda-" + id + "-master reused"), 1)
      << "the second worker should have found the first one's master";

  Act(stack, key, id, "destroy");
  ASSERT_TRUE(stack.WaitStatus(id, "DESTROYED", std::chrono::seconds(120))) << stack.StatusOf(id);
  EXPECT_TRUE(Domains(id).empty());
}

TEST_F(Vms, ADiskImageOverlayReachesTheGuestAndGoesWithIt) {
  // The base image is empty: the test guest still boots its kernel and initramfs, and the
  // overlay (sized from the spec) and the NoCloud seed are attached to it.
  std::string disks = out_dir_ + "/disks";
  ASSERT_EQ(std::system(("qemu-img create -q -f qcow2 " + out_dir_ + "/base.qcow2 1G").c_str()), 0);
  auto o = Options(1);
  o.worker_flags.push_back("--libvirt-image=" + out_dir_ + "/base.qcow2");
  o.worker_flags.push_back("--libvirt-disk-dir=" + disks);
  Stack stack(o);
  std::string key = stack.NewKey("vm-disk");
  std::string id = Create(stack, key, "disk", 0);
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(stack.WaitStatus(id, "STARTED", std::chrono::seconds(180))) << stack.StatusOf(id);
  std::string master = "lambda-" + id + "-master";
  auto doc = Json(Http("GET", stack.url() + "/api/lambda-instances/" + id + "/",
                       {"Authorization: Token " + key})
                      .body);
  int port = doc["data"][0]["servers"][0]["ssh_port"].GetInt();
  std::string sectors =
      Sh("ssh -i " + guest_ + "/id_ed25519 -p " + std::to_string(port) +
         " -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
         "-o LogLevel=ERROR root@127.0.0.1 cat /sys/block/vda/size");
  EXPECT_EQ(sectors, std::to_string(5LL * 1024 * 1024 * 1024 / 512) + "\n");  // disk_master 5
  std::ifstream overlay(disks + "/" + master + ".qcow2");
  EXPECT_TRUE(overlay.good());
  Act(stack, key, id, "destroy");
  ASSERT_TRUE(stack.WaitStatus(id, "DESTROYED", std::chrono::seconds(120))) << stack.StatusOf(id);
  EXPECT_TRUE(Domains(id).empty());
  EXPECT_FALSE(std::ifstream(disks + "/" + master + ".qcow2").good());
  EXPECT_FALSE(std::ifstream(disks + "/" + master + "-seed.iso").good());
}

}  // namespace
}  // namespace lambda

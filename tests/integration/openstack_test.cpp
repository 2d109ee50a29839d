// The openstack provider on a real loop against the contract-faithful fake Keystone + Nova of
// tests/fakes/openstack_fake.py, over real HTTP on 127.0.0.1.
#include <gtest/gtest.h>
#include <unistd.h>

#include "fake_cloud.h"
#include "lambda/util/util.h"
#include "lambda/uv/handle.h"
#include "ledger_view.h"
#include "providers/openstack/openstack_provider.h"
#include "run_until.h"
#include "support.h"

namespace lambda::worker::openstack {
namespace {

using testing::RunUntil;

using testing::FakeCloud;

class OpenStack : public ::testing::Test {
 protected:
  void SetUp() override { uv_loop_init(&loop_); }
  void TearDown() override {
    provider_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  OpenStackProvider& Make(const FakeCloud& cloud, bool synnefo = false,
                          const std::string& password = "secret") {
    OsConfig c;
    c.auth_url = cloud.Url(synnefo ? "/identity/v2.0" : "/identity/v3");
    c.username = "demo";
    c.password = password;
    c.project_name = "lambda";
    c.region = synnefo ? "" : "RegionOne";
    c.image = "debian-12";
    c.mode = synnefo ? "synnefo" : "nova";
    c.poll_ms = 50;
    c.poll_max_ms = 200;
    c.op_timeout_ms = 20000;
    provider_ = std::make_unique<OpenStackProvider>(&loop_, c);
    return *provider_;
  }
  Status Wait(const std::function<void(Provider::Done)>& op) {
    Status st =
        testing::RunOp<Status>(&loop_, op, 30000, Status(Error{Code::kTimeout, "no answer"}));
    EXPECT_NE(st ? Code::kOk : st.error().code, Code::kTimeout) << "no answer";
    return st;
  }
  InstanceSpec Spec(int slaves = 1) {
    InstanceSpec s;
    s.id = util::RandomToken(6);
    s.name = "os-" + s.id;
    s.slaves = slaves;
    s.vcpus_master = 2;
    s.ram_master_mib = 4096;
    s.disk_master_gib = 40;
    s.vcpus_slave = 1;
    s.ram_slave_mib = 1024;
    s.disk_slave_gib = 10;
    return s;
  }
  Operation op_{"req-1", 1, "w", [this](const LedgerEntry& e) { ledger_.push_back(e); }};
  std::string Outcome(const std::string& op, const std::string& target) {
    return testing::LastOutcome(ledger_, op, target);
  }
  uv_loop_t loop_{};
  std::unique_ptr<OpenStackProvider> provider_;
  std::vector<LedgerEntry> ledger_;
};

TEST(Flavors, SmallestThatFits) {
  std::vector<Flavor> f{{"a", "big", 8, 16384, 100},
                        {"b", "small", 1, 2048, 20},
                        {"c", "mid", 2, 4096, 40},
                        {"d", "mid-more-disk", 2, 4096, 80}};
  EXPECT_EQ(SmallestFitting(f, 1, 1024, 10)->id, "b");
  EXPECT_EQ(SmallestFitting(f, 2, 4096, 40)->id, "c");
  EXPECT_EQ(SmallestFitting(f, 2, 4096, 50)->id, "d");
  EXPECT_FALSE(SmallestFitting(f, 16, 1024, 10));
}

TEST(Times, KeystoneExpiryForms) {
  EXPECT_EQ(ParseUtcMs("1970-01-01T00:00:01.500000Z"), 1500);
  EXPECT_EQ(ParseUtcMs("1970-01-01T00:01:00Z"), 60000);
  EXPECT_EQ(ParseUtcMs("1970-01-01T00:00:00+00:00"), 0);
  EXPECT_FALSE(ParseUtcMs("yesterday"));
  EXPECT_FALSE(ParseUtcMs("1970-01-01T00:00:00+02:00"));
}

TEST_F(OpenStack, CreateStopStartDestroy) {
  FakeCloud cloud;
  ASSERT_TRUE(cloud.ready());
  auto& p = Make(cloud);
  InstanceSpec spec = Spec();
  spec.ip_allocation = "master";
  std::vector<ServerInfo> servers;
  ASSERT_TRUE(Wait([&](auto d) { p.CreateCluster(op_, spec, &servers, d); }));
  ASSERT_EQ(servers.size(), 2U);
  std::string master = VmName(spec.id, 0), slave = VmName(spec.id, 1);
  EXPECT_EQ(servers[0].name, master);
  EXPECT_EQ(servers[0].status, "ACTIVE");
  EXPECT_EQ(servers[0].private_ip.rfind("10.0.0.", 0), 0U);
  EXPECT_EQ(servers[0].public_ip.rfind("203.0.113.", 0), 0U);
  EXPECT_TRUE(servers[1].public_ip.empty());  // ip_allocation master
  EXPECT_EQ(Outcome("create_vm", master), "created");
  auto st = cloud.State();
  ASSERT_EQ(st["servers"].Size(), 2U);
  for (const auto& s : st["servers"].GetArray()) {
    EXPECT_STREQ(s["metadata"]["lambda_instance_id"].GetString(), spec.id.c_str());
    EXPECT_STREQ(s["metadata"]["lambda_instance_name"].GetString(), spec.name.c_str());
    // Sized from the spec: the smallest flavor that fits each VM.
    EXPECT_STREQ(s["flavor"].GetString(),
                 std::string(s["name"].GetString()) == master ? "f-medium" : "f-small");
  }
  EXPECT_STREQ(st["microversions"][0].GetString(), "compute 2.37");

  ASSERT_TRUE(Wait([&](auto d) { p.StopVm(op_, spec, &servers[0], d); }));
  EXPECT_EQ(servers[0].status, "SHUTOFF");
  EXPECT_EQ(Outcome("stop_vm", master), "stopped");
  ASSERT_TRUE(Wait([&](auto d) { p.StopVm(op_, spec, &servers[0], d); }));
  EXPECT_EQ(Outcome("stop_vm", master), "already_stopped");
  ASSERT_TRUE(Wait([&](auto d) { p.StartVm(op_, spec, &servers[0], d); }));
  EXPECT_EQ(Outcome("start_vm", master), "started");

  ASSERT_TRUE(Wait([&](auto d) { p.DestroyCluster(op_, spec, &servers, d); }));
  EXPECT_EQ(cloud.Count(master), 0);
  EXPECT_EQ(cloud.Count(slave), 0);
  EXPECT_EQ(Outcome("destroy_vm", slave), "destroyed");
  ASSERT_TRUE(Wait([&](auto d) { p.DestroyCluster(op_, spec, &servers, d); }));
  EXPECT_EQ(Outcome("destroy_vm", master), "absent");
  EXPECT_EQ(p.authentications(), 1);  // one token served every call
}

// A superseded command stops polling a server that is still building (SPEC §5: its slot frees
// within a second), instead of waiting for ACTIVE or the operation timeout.
TEST_F(OpenStack, ASupersededWaitForAServerStopsAtOnce) {
  FakeCloud cloud({"--build-s", "30"});
  ASSERT_TRUE(cloud.ready());
  auto& p = Make(cloud);
  InstanceSpec spec = Spec(0);
  std::vector<ServerInfo> servers;
  uv::Timer later(&loop_);
  int64_t cancelled_at = 0;
  later.Start(500, 0, [&] {
    cancelled_at = util::NowMs();
    op_.cancel->Cancel();
  });
  Status st = Wait([&](auto d) { p.CreateCluster(op_, spec, &servers, d); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::kConflict) << st.error().message;
  ASSERT_GT(cancelled_at, 0);
  EXPECT_LT(util::NowMs() - cancelled_at, 1000);
  EXPECT_EQ(Outcome("create_vm", VmName(spec.id, 0)), "created");  // a rerun finds it
}

TEST_F(OpenStack, ARerunFindsTheServersAndMakesNone) {
  FakeCloud cloud;
  ASSERT_TRUE(cloud.ready());
  auto& p = Make(cloud);
  InstanceSpec spec = Spec();
  std::vector<ServerInfo> a, b;
  ASSERT_TRUE(Wait([&](auto d) { p.CreateCluster(op_, spec, &a, d); }));
  ASSERT_TRUE(Wait([&](auto d) { p.CreateCluster(op_, spec, &b, d); }));
  EXPECT_EQ(cloud.State()["creates"].GetInt(), 2);
  EXPECT_EQ(cloud.Count(VmName(spec.id, 0)), 1);
  EXPECT_EQ(Outcome("create_vm", VmName(spec.id, 0)), "reused");
  EXPECT_EQ(a[0].id, b[0].id);
}

TEST_F(OpenStack, TokenRenewedAfterA401AndBeforeItExpires) {
  FakeCloud cloud;
  ASSERT_TRUE(cloud.ready());
  auto& p = Make(cloud);
  InstanceSpec spec = Spec(0);
  std::vector<ServerInfo> servers;
  ASSERT_TRUE(Wait([&](auto d) { p.CreateCluster(op_, spec, &servers, d); }));
  cloud.ExpireTokens();  // revoked under us: the next call meets a 401
  ASSERT_TRUE(Wait([&](auto d) { p.StopVm(op_, spec, &servers[0], d); }));
  EXPECT_EQ(p.authentications(), 2);

  // A token that lives 61 s is renewed a minute before it expires: at once, on the next call.
  FakeCloud short_lived({"--token-ttl", "61"});
  ASSERT_TRUE(short_lived.ready());
  auto& q = Make(short_lived);
  std::vector<ServerInfo> more;
  ASSERT_TRUE(Wait([&](auto d) { q.CreateCluster(op_, spec, &more, d); }));
  int after_create = q.authentications();
  usleep(1500 * 1000);  // past the token's last second outside the renewal margin
  ASSERT_TRUE(Wait([&](auto d) { q.StopVm(op_, spec, &more[0], d); }));
  EXPECT_GT(q.authentications(), after_create);
}

TEST_F(OpenStack, BusyAnswersAreRetriedAfterRetryAfter) {
  FakeCloud cloud;
  ASSERT_TRUE(cloud.ready());
  auto& p = Make(cloud);
  InstanceSpec spec = Spec(0);
  cloud.Inject(
      R"({"method":"POST","prefix":"/compute/v2.1/servers","status":429,"count":2,"retry_after":1})");
  auto t0 = util::NowMs();
  std::vector<ServerInfo> servers;
  ASSERT_TRUE(Wait([&](auto d) { p.CreateCluster(op_, spec, &servers, d); }));
  EXPECT_GE(util::NowMs() - t0, 2000);  // Retry-After: 1, twice
  EXPECT_EQ(cloud.State()["creates"].GetInt(), 1);
  cloud.Inject(R"({"method":"POST","prefix":"/compute/v2.1/servers/","status":409,"count":1,)"
               R"("body":{"conflictingRequest":{"message":"task in progress","code":409}}})");
  ASSERT_TRUE(Wait([&](auto d) { p.StopVm(op_, spec, &servers[0], d); }));
  EXPECT_EQ(servers[0].status, "SHUTOFF");
}

TEST_F(OpenStack, ACloudThatStaysBusyIsTransient) {
  FakeCloud cloud;
  ASSERT_TRUE(cloud.ready());
  auto& p = Make(cloud);
  cloud.Inject(R"({"method":"GET","prefix":"/compute/v2.1/servers","status":503,"count":100})");
  InstanceSpec spec = Spec(0);
  std::vector<ServerInfo> servers;
  auto st = Wait([&](auto d) { p.CreateCluster(op_, spec, &servers, d); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::kUnavailable) << st.error().message;
  EXPECT_NE(st.error().message.find("503"), std::string::npos);
}

TEST_F(OpenStack, AServerInErrorFailsWithTheCloudsFault) {
  FakeCloud cloud;
  ASSERT_TRUE(cloud.ready());
  OsConfig c;
  c.auth_url = cloud.Url("/identity/v3");
  c.username = "demo";
  c.password = "secret";
  c.project_name = "lambda";
  c.image = "99999999-8888-7777-6666-555555555555";  // the fake's image whose servers fail
  c.poll_ms = 50;
  provider_ = std::make_unique<OpenStackProvider>(&loop_, c);
  InstanceSpec spec = Spec(0);
  std::vector<ServerInfo> servers;
  auto st = Wait([&](auto d) { provider_->CreateCluster(op_, spec, &servers, d); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::kInternal);
  EXPECT_NE(st.error().message.find("No valid host was found"), std::string::npos)
      << st.error().message;
}

TEST_F(OpenStack, ASpecNoFlavorFitsOrAMissingImageFailsTheCreateWithTheReason) {
  FakeCloud cloud;
  ASSERT_TRUE(cloud.ready());
  auto& p = Make(cloud);
  InstanceSpec spec = Spec(0);
  spec.vcpus_master = 64;
  std::vector<ServerInfo> servers;
  auto st = Wait([&](auto d) { p.CreateCluster(op_, spec, &servers, d); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "openstack: no flavor fits 64 vCPUs, 4096 MiB RAM, 40 GB disk");
  EXPECT_EQ(cloud.State()["creates"].GetInt(), 0);

  OsConfig c;
  c.auth_url = cloud.Url("/identity/v3");
  c.username = "demo";
  c.password = "secret";
  c.project_name = "lambda";
  c.image = "no-such-image";
  provider_ = std::make_unique<OpenStackProvider>(&loop_, c);
  InstanceSpec ok = Spec(0);
  st = Wait([&](auto d) { provider_->CreateCluster(op_, ok, &servers, d); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "openstack: image no-such-image not found");
}

TEST_F(OpenStack, RefusedCredentialsAreNotRetried) {
  FakeCloud cloud;
  ASSERT_TRUE(cloud.ready());
  auto& p = Make(cloud, false, "wrong");
  InstanceSpec spec = Spec(0);
  std::vector<ServerInfo> servers;
  auto st = Wait([&](auto d) { p.CreateCluster(op_, spec, &servers, d); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::kInternal);
  EXPECT_NE(st.error().message.find("keystone refused the credentials"), std::string::npos);
}

TEST_F(OpenStack, AnUnreachableCloudIsTransient) {
  OsConfig c;
  c.auth_url = "http://127.0.0.1:" + std::to_string(testing::FreePort()) + "/identity/v3";
  c.username = "demo";
  c.password = "secret";
  c.image = "debian-12";
  provider_ = std::make_unique<OpenStackProvider>(&loop_, c);
  InstanceSpec spec = Spec(0);
  std::vector<ServerInfo> servers;
  auto st = Wait([&](auto d) { provider_->CreateCluster(op_, spec, &servers, d); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::kUnavailable) << st.error().message;
}

TEST_F(OpenStack, SynnefoSpeaksV2TokensAndStopped) {
  FakeCloud cloud({"--synnefo"});
  ASSERT_TRUE(cloud.ready());
  auto& p = Make(cloud, true);
  InstanceSpec spec = Spec(0);
  std::vector<ServerInfo> servers;
  ASSERT_TRUE(Wait([&](auto d) { p.CreateCluster(op_, spec, &servers, d); }));
  ASSERT_TRUE(Wait([&](auto d) { p.StopVm(op_, spec, &servers[0], d); }));
  EXPECT_EQ(servers[0].status, "SHUTOFF");  // the cloud's STOPPED, in our words
  auto st = cloud.State();
  EXPECT_STREQ(st["servers"][0]["status"].GetString(), "STOPPED");
  ASSERT_TRUE(Wait([&](auto d) { p.StartVm(op_, spec, &servers[0], d); }));
  ASSERT_TRUE(Wait([&](auto d) { p.DestroyCluster(op_, spec, &servers, d); }));
  EXPECT_EQ(cloud.Count(VmName(spec.id, 0)), 0);
}

}  // namespace
}  // namespace lambda::worker::openstack

namespace lambda::worker::openstack {
namespace {

// The optional tier against a real cloud: runs when OS_AUTH_URL and LAMBDA_OS_IMAGE are set
// (an openrc sourced), skipped otherwise. It makes one server and deletes it.
TEST(OpenStackRealCloud, CreateStopStartDestroyOneServer) {
  auto env = [](const char* n) { return testing::EnvOr(n); };
  if (env("OS_AUTH_URL").empty() || env("LAMBDA_OS_IMAGE").empty())
    GTEST_SKIP()
        << "skipped by design: no real cloud: set OS_AUTH_URL, OS_USERNAME, … and LAMBDA_OS_IMAGE";
  OsConfig c;
  c.auth_url = env("OS_AUTH_URL");
  c.username = env("OS_USERNAME");
  c.password = env("OS_PASSWORD");
  c.project_name = env("OS_PROJECT_NAME");
  if (!env("OS_USER_DOMAIN_NAME").empty()) c.user_domain = env("OS_USER_DOMAIN_NAME");
  if (!env("OS_PROJECT_DOMAIN_NAME").empty()) c.project_domain = env("OS_PROJECT_DOMAIN_NAME");
  c.region = env("OS_REGION_NAME");
  c.image = env("LAMBDA_OS_IMAGE");
  if (!env("LAMBDA_OS_NETWORK").empty()) c.network = env("LAMBDA_OS_NETWORK");
  c.flavor = env("LAMBDA_OS_FLAVOR");
  if (!env("LAMBDA_OS_MODE").empty()) c.mode = env("LAMBDA_OS_MODE");
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    OpenStackProvider p(&loop, c);
    std::vector<LedgerEntry> ledger;
    Operation op{"real-cloud-test", 1, "test", [&](const LedgerEntry& e) { ledger.push_back(e); }};
    InstanceSpec spec;
    spec.id = "test-" + util::RandomToken(4);
    spec.name = spec.id;
    std::vector<ServerInfo> servers;
    auto run = [&](const std::function<void(Provider::Done)>& f) {
      std::optional<Status> st;
      f([&](Status s) { st = std::move(s); });
      EXPECT_TRUE(RunUntil(&loop, st, 900000));
      return st.value_or(Status(Error{Code::kTimeout, "no answer"}));
    };
    auto created = run([&](auto d) { p.CreateCluster(op, spec, &servers, d); });
    EXPECT_TRUE(created) << (created ? "" : created.error().message);
    if (created) {
      EXPECT_TRUE(run([&](auto d) { p.StopVm(op, spec, &servers[0], d); }));
      EXPECT_TRUE(run([&](auto d) { p.StartVm(op, spec, &servers[0], d); }));
    }
    auto destroyed = run([&](auto d) { p.DestroyCluster(op, spec, &servers, d); });
    EXPECT_TRUE(destroyed) << (destroyed ? "" : destroyed.error().message);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
}

}  // namespace
}  // namespace lambda::worker::openstack

// Pure parts of the providers: specs, names, servers, domain XML, hook environment and messages.
#include "providers/provider.h"

#include <gtest/gtest.h>

#include "providers/hooks/hooked_provider.h"
#include "providers/libvirt/domain_xml.h"
#include "providers/openstack/clouds_yaml.h"
#include "providers/sim/sim_provider.h"

namespace lambda::worker {
namespace {

TEST(Spec, CarriesTheWholeCreateSpec) {
  auto s = SpecFromInfo("i1", R"({"instance_name":"n","master_name":"m","slaves":2,
      "vcpus_master":4,"vcpus_slave":2,"ram_master":4096,"ram_slave":2048,"disk_master":20,
      "disk_slave":10,"ip_allocation":"all","network_request":2,"public_key_name":"k",
      "project_name":"p"})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->slaves, 2);
  EXPECT_EQ(s->vcpus(true), 4);
  EXPECT_EQ(s->vcpus(false), 2);
  EXPECT_EQ(s->ram_mib(true), 4096);
  EXPECT_EQ(s->ram_mib(false), 2048);
  EXPECT_EQ(s->disk_gib(true), 20);
  EXPECT_EQ(s->network_request, 2);
  EXPECT_EQ(s->ip_allocation, "all");
  EXPECT_EQ(s->public_key_name, "k");
  EXPECT_EQ(s->project_name, "p");
}

TEST(Spec, UnreadableOrNegativeIsAnError) {
  EXPECT_FALSE(SpecFromInfo("i", "[1]"));
  EXPECT_FALSE(SpecFromInfo("i", "{"));
  EXPECT_FALSE(SpecFromInfo("i", R"({"slaves":-1})"));
}

TEST(Spec, SimOptionsAreTheSimsAlone) {
  EXPECT_EQ(SimOptionsFromInfo(R"({"slaves":1})").fail_at, "");
  auto o = SimOptionsFromInfo(R"({"simulate":{"fail_at":"KAFKA","step_ms":7}})");
  EXPECT_EQ(o.fail_at, "KAFKA");
  EXPECT_EQ(o.step_ms, 7);
}

TEST(Names, AreDeterministicMasterFirst) {
  InstanceSpec s;
  s.id = "abc";
  s.slaves = 2;
  auto v = PlannedServers(s);
  ASSERT_EQ(v.size(), 3U);
  EXPECT_EQ(v[0].name, "lambda-abc-master");
  EXPECT_EQ(v[0].role, "master");
  EXPECT_EQ(v[2].name, "lambda-abc-slave-2");
  EXPECT_EQ(v[2].role, "slave");
}

TEST(Servers, RoundTripWithSshPort) {
  std::vector<ServerInfo> in{
      {"u1", "lambda-a-master", "master", "ACTIVE", "127.0.0.1", "", 2222},
      {"u2", "lambda-a-slave-1", "slave", "SHUTOFF", "10.0.0.3", "1.2.3.4", 0}};
  std::string j = ServersToJson(in);
  EXPECT_NE(j.find(R"("ssh_port":2222)"), std::string::npos);
  EXPECT_EQ(j.find(R"("ssh_port":0)"), std::string::npos);
  auto out = ServersFromJson(j);
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[0].ssh_port, 2222);
  EXPECT_EQ(out[1].public_ip, "1.2.3.4");
  EXPECT_EQ(out[1].status, "SHUTOFF");
}

TEST(Ledger, EffectsAreVmChangesOnly) {
  for (const char* e : {"created", "started", "stopped", "destroyed"}) EXPECT_TRUE(IsEffect(e));
  for (const char* e : {"reused", "already_running", "already_stopped", "absent", "ran", "failed"})
    EXPECT_FALSE(IsEffect(e)) << e;
}

TEST(DomainXml, UuidIsStableAndWellFormed) {
  std::string a = libvirt::DomainUuid("inst", 0);
  EXPECT_EQ(a, libvirt::DomainUuid("inst", 0));
  EXPECT_NE(a, libvirt::DomainUuid("inst", 1));
  ASSERT_EQ(a.size(), 36U);
  EXPECT_EQ(a[8], '-');
  EXPECT_EQ(a[14], '5');
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos);
}

TEST(DomainXml, SizesAreCappedAndFactsEscaped) {
  libvirt::GuestConfig g;
  g.kernel = "/k/vmlinuz";
  g.initrd = "/k/initrd.gz";
  g.max_vcpus = 1;
  g.max_ram_mib = 160;
  g.ssh_key = "ssh-ed25519 AAAAC3Nz comment here";
  libvirt::VmFacts vm;
  vm.name = "lambda-i-master";
  vm.instance_id = "i";
  vm.instance_name = "a<b>&'c\"";
  vm.role = "master";
  vm.vcpus = 8;
  vm.ram_mib = 4096;
  vm.ssh_port = 40022;
  std::string x = libvirt::DomainXml(g, vm);
  EXPECT_NE(x.find("<vcpu>1</vcpu>"), std::string::npos);
  EXPECT_NE(x.find("<memory unit='MiB'>160</memory>"), std::string::npos);
  EXPECT_NE(x.find("a&lt;b&gt;&amp;&apos;c&quot;"), std::string::npos);
  EXPECT_EQ(x.find("a<b>"), std::string::npos);
  EXPECT_NE(x.find("lambda.key_type=ssh-ed25519 lambda.key=AAAAC3Nz</cmdline>"), std::string::npos);
  EXPECT_NE(x.find("hostfwd=tcp:127.0.0.1:40022-:22"), std::string::npos);
  EXPECT_NE(x.find("<ssh_port>40022</ssh_port>"), std::string::npos);
  EXPECT_EQ(libvirt::SshPortFromMetadata(x), 40022);
}

TEST(DomainXml, ADiskImageGuestGetsItsOverlayAndSeed) {
  libvirt::GuestConfig g;
  g.image = "/img/base.qcow2";
  g.ssh_key = "ssh-ed25519 AAAA \"quoted\" comment";
  libvirt::VmFacts vm;
  vm.name = "lambda-i-slave-1";
  vm.instance_id = "i";
  vm.index = 1;
  vm.disk = "/d/lambda-i-slave-1.qcow2";
  vm.seed = "/d/lambda-i-slave-1-seed.iso";
  std::string x = libvirt::DomainXml(g, vm);
  EXPECT_NE(x.find("<boot dev='hd'/>"), std::string::npos);
  EXPECT_EQ(x.find("<kernel>"), std::string::npos);
  EXPECT_NE(x.find("<source file='/d/lambda-i-slave-1.qcow2'/>"), std::string::npos);
  EXPECT_NE(x.find("device='cdrom'"), std::string::npos);
  EXPECT_EQ(libvirt::SeedMetaData(vm),
            "instance-id: " + libvirt::DomainUuid("i", 1) + "\nlocal-hostname: lambda-i-slave-1\n");
  EXPECT_EQ(libvirt::SeedUserData(g, vm),
            "#cloud-config\nhostname: lambda-i-slave-1\nssh_authorized_keys:\n"
            "  - \"ssh-ed25519 AAAA \\\"quoted\\\" comment\"\n");
}

TEST(DomainXml, MetadataPortParseRefusesJunk) {
  EXPECT_FALSE(libvirt::SshPortFromMetadata("<instance/>"));
  EXPECT_FALSE(libvirt::SshPortFromMetadata("<ssh_port></ssh_port>"));
  EXPECT_FALSE(libvirt::SshPortFromMetadata("<ssh_port>99999</ssh_port>"));
  EXPECT_FALSE(libvirt::SshPortFromMetadata("<ssh_port>2x</ssh_port>"));
  EXPECT_EQ(libvirt::SshPortFromMetadata("<i>\n <ssh_port>22</ssh_port></i>"), 22);
}

TEST(Hooks, EnvironmentHasTheFactsAndNoWorkerSecrets) {
  Operation op{"req-1", 7, "w1", [](const LedgerEntry&) {}};
  InstanceSpec spec;
  spec.id = "i1";
  spec.name = "cluster";
  std::vector<ServerInfo> servers{{"u1", "m", "master", "ACTIVE", "127.0.0.1", "", 2201},
                                  {"u2", "s1", "slave", "ACTIVE", "10.0.0.3", "", 0},
                                  {"u3", "s2", "slave", "ACTIVE", "10.0.0.4", "5.6.7.8", 0}};
  std::string path = "PATH=/usr/bin", secret = "LAMBDA_REDIS_URL=redis://:pw@h", hook = "HOOK_X=1";
  char* inherited[] = {path.data(), secret.data(), hook.data(), nullptr};
  auto env = HookEnvironment(op, spec, servers, "KAFKA", inherited);
  auto has = [&](const std::string& kv) {
    return std::find(env.begin(), env.end(), kv) != env.end();
  };
  EXPECT_TRUE(has("PATH=/usr/bin"));
  EXPECT_TRUE(has("HOOK_X=1"));
  EXPECT_FALSE(has(secret));
  EXPECT_TRUE(has("LAMBDA_INSTANCE_ID=i1"));
  EXPECT_TRUE(has("LAMBDA_INSTANCE_NAME=cluster"));
  EXPECT_TRUE(has("LAMBDA_STEP=KAFKA"));
  EXPECT_TRUE(has("LAMBDA_REQUEST_ID=req-1"));
  EXPECT_TRUE(has("LAMBDA_GEN=7"));
  EXPECT_TRUE(has("LAMBDA_MASTER_IP=127.0.0.1"));
  EXPECT_TRUE(has("LAMBDA_MASTER_SSH_PORT=2201"));
  EXPECT_TRUE(has("LAMBDA_SLAVE_IPS=10.0.0.3,5.6.7.8"));
  EXPECT_TRUE(has("LAMBDA_SLAVE_SSH_PORTS=22,22"));
  EXPECT_TRUE(has("LAMBDA_SERVERS=" + ServersToJson(servers)));
}

TEST(Hooks, FailureMessageIsTheTailOrWhy) {
  HookResult r;
  r.ran = true;
  r.exit_status = 3;
  r.stderr_tail = "  kafka: broker did not come up\n";
  EXPECT_EQ(HookFailure("kafka", r, 1000), "kafka: broker did not come up");
  r.stderr_tail.clear();
  r.stdout_tail = "out only\n";
  EXPECT_EQ(HookFailure("kafka", r, 1000), "out only");
  r.stdout_tail.clear();
  EXPECT_EQ(HookFailure("kafka", r, 1000), "hook kafka exited with status 3");
  r.timed_out = true;
  EXPECT_EQ(HookFailure("kafka", r, 1500), "hook kafka timed out after 1500 ms");
}

}  // namespace
}  // namespace lambda::worker

namespace lambda::worker::openstack {
namespace {

TEST(CloudsYaml, TheNamedCloudFillsTheConfig) {
  const char* yaml = R"(clouds:
  okeanos:
    auth:
      auth_url: https://accounts.okeanos.grnet.gr/identity/v2.0
      username: u
      password: "p:w"
      project_name: proj
    region_name: default
  other:
    auth: {auth_url: http://x/v3}
)";
  OsConfig c;
  ASSERT_TRUE(ApplyCloudsYaml(yaml, "okeanos", &c));
  EXPECT_EQ(c.auth_url, "https://accounts.okeanos.grnet.gr/identity/v2.0");
  EXPECT_EQ(c.username, "u");
  EXPECT_EQ(c.password, "p:w");
  EXPECT_EQ(c.project_name, "proj");
  EXPECT_EQ(c.region, "default");
  EXPECT_EQ(c.user_domain, "Default");  // absent: unchanged
}

TEST(CloudsYaml, MissingCloudOrBrokenYamlIsAClearError) {
  OsConfig c;
  auto st = ApplyCloudsYaml("clouds: {a: {auth: {auth_url: u}}}", "b", &c);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "clouds.yaml: no cloud b");
  EXPECT_FALSE(ApplyCloudsYaml("clouds: [unclosed", "a", &c));
  EXPECT_FALSE(ApplyCloudsYaml("clouds: {a: {region_name: r}}", "a", &c));
  EXPECT_FALSE(ApplyCloudsYaml("clouds: {a: {auth: [1, 2]}}", "a", &c));
}

}  // namespace
}  // namespace lambda::worker::openstack

// End to end against the fake OpenStack cloud: the real shim and workers (provider openstack)
// on real Redis and RabbitMQ. A worker killed while the cloud builds its first server must leave
// exactly one server per VM once a second worker finishes the create.
#include <gtest/gtest.h>
#include <signal.h>

#include "fake_cloud.h"
#include "support.h"

namespace lambda {
namespace {

using testing::FakeCloud;
using testing::Http;
using testing::Json;
using testing::Stack;

Stack::Options Options(const FakeCloud& cloud) {
  Stack::Options o;
  o.workers = 1;
  o.shim_flags = {"--provider=openstack"};
  o.worker_flags = {"--provider=openstack",     "--os-auth-url=" + cloud.Url("/identity/v3"),
                    "--os-username=demo",       "--os-password=secret",
                    "--os-project-name=lambda", "--os-region-name=RegionOne",
                    "--os-image=debian-12",     "--os-poll-ms=100",
                    "--lease-ms=3000"};
  return o;
}

std::string Create(Stack& stack, const std::string& key) {
  auto r = Http("POST", stack.url() + "/api/lambda-instances/",
                {"Authorization: Token " + key, "Content-Type: application/json"},
                testing::CreateBody("cloud").replace(
                    testing::CreateBody("cloud").find(R"("slaves":2)"), 10, R"("slaves":1)"));
  EXPECT_EQ(r.status, 202) << r.body;
  return r.status == 202 ? Json(r.body)["data"][0]["id"].GetString() : "";
}

TEST(OpenStackE2e, LifecycleAgainstTheFakeCloud) {
  FakeCloud cloud;
  ASSERT_TRUE(cloud.ready());
  Stack stack(Options(cloud));
  std::string key = stack.NewKey("os");
  auto t0 = std::chrono::steady_clock::now();
  auto lap = [&t0] {
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    t0 = std::chrono::steady_clock::now();
    return static_cast<long long>(ms);
  };
  std::string id = Create(stack, key);
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(stack.WaitStatus(id, "STARTED", std::chrono::seconds(60))) << stack.StatusOf(id);
  std::printf("[ figures ] fake cloud: create (2 servers) %lld ms", lap());
  std::string url = stack.url() + "/api/lambda-instances/" + id + "/";
  std::vector<std::string> h{"Authorization: Token " + key, "Content-Type: application/json"};
  ASSERT_EQ(Http("POST", url, h, R"({"action":"stop"})").status, 202);
  ASSERT_TRUE(stack.WaitStatus(id, "STOPPED", std::chrono::seconds(60))) << stack.StatusOf(id);
  std::printf(", stop %lld ms", lap());
  ASSERT_EQ(Http("POST", url, h, R"({"action":"start"})").status, 202);
  ASSERT_TRUE(stack.WaitStatus(id, "STARTED", std::chrono::seconds(60))) << stack.StatusOf(id);
  std::printf(", start %lld ms", lap());
  ASSERT_EQ(Http("DELETE", url, h).status, 202);
  ASSERT_TRUE(stack.WaitStatus(id, "DESTROYED", std::chrono::seconds(60))) << stack.StatusOf(id);
  std::printf(", destroy %lld ms\n", lap());
  EXPECT_EQ(cloud.Count("lambda-" + id + "-master"), 0);
}

TEST(OpenStackE2e, AWorkerKilledMidCreateMakesNoDuplicateServer) {
  FakeCloud cloud({"--build-s", "3"});  // a slow build: the kill lands while the cloud builds
  ASSERT_TRUE(cloud.ready());
  Stack stack(Options(cloud));
  std::string key = stack.NewKey("os-kill");
  std::string id = Create(stack, key);
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(testing::WaitFor([&] { return cloud.State()["creates"].GetInt() >= 1; },
                               std::chrono::seconds(30)));
  stack.worker(0).Signal(SIGKILL);
  ASSERT_EQ(stack.worker(0).Wait(std::chrono::seconds(5)), -1);
  ASSERT_NE(stack.StatusOf(id), "STARTED");
  stack.StartWorker();
  ASSERT_TRUE(stack.WaitStatus(id, "STARTED", std::chrono::seconds(90))) << stack.StatusOf(id);
  EXPECT_EQ(cloud.Count("lambda-" + id + "-master"), 1);
  EXPECT_EQ(cloud.Count("lambda-" + id + "-slave-1"), 1);
  EXPECT_EQ(cloud.State()["creates"].GetInt(), 2);
}

TEST(OpenStackE2e, ACancelledCreateLeavesNoServerBehind) {
  // SPEC §4.5: a create cancelled while the cloud builds its servers ends DESTROYED, and the
  // cloud holds none of its servers (their floating IPs are theirs in this fake) afterwards.
  FakeCloud cloud({"--build-s", "3"});
  ASSERT_TRUE(cloud.ready());
  Stack stack(Options(cloud));
  std::string key = stack.NewKey("os-cancel");
  std::string id = Create(stack, key);
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(testing::WaitFor([&] { return cloud.State()["creates"].GetInt() >= 1; },
                               std::chrono::seconds(30)));
  auto asked = std::chrono::steady_clock::now();
  auto r = Http("POST", stack.url() + "/api/lambda-instances/" + id + "/",
                {"Authorization: Token " + key, "Content-Type: application/json"},
                R"({"action":"cancel"})");
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_TRUE(stack.WaitStatus(id, "DESTROYED", std::chrono::seconds(30))) << stack.StatusOf(id);
  long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - asked)
                     .count();
  int left = cloud.Count("lambda-" + id + "-master") + cloud.Count("lambda-" + id + "-slave-1");
  std::printf("[ figures ] fake cloud: cancelled create DESTROYED in %lld ms, servers left %d\n",
              ms, left);
  EXPECT_EQ(left, 0);
}

}  // namespace
}  // namespace lambda

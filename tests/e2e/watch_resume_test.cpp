// End to end: the tenant-wide event stream across a reconnect (SPEC §4.4): every event has an
// id, a reconnect with Last-Event-ID gets exactly what it missed, once and in order, past the
// cap an explicit reset, and a malformed id is a 400. Also with the real npm `eventsource`.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <map>

#include "sse_client.h"
#include "support.h"

namespace lambda {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Http;
using testing::Json;
using testing::SseClient;
using testing::Stack;

/// The shim keeps 12 entries per history here, and so a resume sends at most 12 changes.
constexpr int kCap = 12;

class TenantResume : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack(Stack::Options{2, {"--history-max=" + std::to_string(kCap)}, {}});
    key_ = stack_->NewKey("acme");
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  static std::string Api(const std::string& rest) {
    return stack_->url() + "/api/lambda-instances/" + rest;
  }
  static std::vector<std::string> Headers(const std::string& last_event_id = "") {
    std::vector<std::string> h{"X-API-Key: " + key_, "Accept: text/event-stream"};
    if (!last_event_id.empty()) h.push_back("Last-Event-ID: " + last_event_id);
    return h;
  }
  /// Acts on `id` and waits until it is `status`: two changes of its history.
  static void Act(const std::string& id, const std::string& action, const std::string& status) {
    auto r = Http("POST", Api(id + "/"), {"X-API-Key: " + key_}, "action=" + action);
    ASSERT_EQ(r.status, 202) << r.body;
    ASSERT_TRUE(stack_->WaitStatus(id, status, seconds(20))) << stack_->StatusOf(id);
  }
  struct Change {
    std::string instance;
    std::string status;
    std::string event_id;
    bool operator==(const Change&) const = default;
  };
  static Change Of(const SseClient::Event& e) {
    auto d = Json(e.data);
    return {d["instance_id"].GetString(), d["status"]["message"].GetString(),
            d.HasMember("event_id") ? d["event_id"].GetString() : ""};
  }
  /// Every change of `id` after its history entry `after` (all when empty), from the JSON API.
  static std::vector<Change> HistoryAfter(const std::string& id, const std::string& after) {
    auto r = Http("GET", Api(id + "/events/" + (after.empty() ? "" : "?since=" + after)),
                  {"X-API-Key: " + key_});
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<Change> out;
    auto d = Json(r.body);
    for (const auto& e : d["data"].GetArray()) {
      out.push_back({id, e["status"]["message"].GetString(), e["event_id"].GetString()});
    }
    return out;
  }

  static Stack* stack_;
  static std::string key_;
};
Stack* TenantResume::stack_ = nullptr;
std::string TenantResume::key_;

TEST_F(TenantResume, AReconnectGetsEveryMissedChangeOnceAndInOrder) {
  auto ids = stack_->Seed(2, "STOPPED", "acme");
  const std::string a = ids[0], b = ids[1];
  std::string last_id, a_seen;
  {
    SseClient sse(stack_->port(), "/api/lambda-instances/events/", Headers());
    ASSERT_EQ(sse.ReadHead(seconds(5)), 200) << sse.head();
    ASSERT_NO_FATAL_FAILURE(Act(a, "start", "STARTED"));
    std::vector<std::string> seen;
    while (seen.empty() || seen.back() != "STARTED") {
      auto e = sse.Next(seconds(10));
      ASSERT_TRUE(e) << "after " << seen.size() << " events";
      EXPECT_FALSE(e->id.empty()) << e->data;  // every event has an id
      EXPECT_NE(e->id, last_id);
      last_id = e->id;
      auto c = Of(*e);
      a_seen = c.event_id;
      seen.push_back(c.status);
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"STARTING", "STARTED"}));
  }
  // Eight changes while nobody listens.
  ASSERT_NO_FATAL_FAILURE(Act(a, "stop", "STOPPED"));
  ASSERT_NO_FATAL_FAILURE(Act(b, "start", "STARTED"));
  ASSERT_NO_FATAL_FAILURE(Act(b, "stop", "STOPPED"));
  ASSERT_NO_FATAL_FAILURE(Act(a, "start", "STARTED"));
  auto missed_a = HistoryAfter(a, a_seen);
  auto all_b = HistoryAfter(b, "");
  std::vector<Change> missed_b(all_b.end() - 4, all_b.end());  // the seed's own entry is older
  ASSERT_EQ(missed_a.size(), 4u);

  SseClient resumed(stack_->port(), "/api/lambda-instances/events/", Headers(last_id));
  ASSERT_EQ(resumed.ReadHead(seconds(5)), 200) << resumed.head();
  std::vector<Change> got;
  std::map<std::string, std::vector<Change>> by_instance;
  while (got.size() < 8) {
    auto e = resumed.Next(seconds(5));
    ASSERT_TRUE(e) << "only " << got.size() << " of the 8 missed changes came";
    ASSERT_EQ(e->event, "status") << e->data;
    EXPECT_FALSE(e->id.empty());
    got.push_back(Of(*e));
    by_instance[got.back().instance].push_back(got.back());
  }
  EXPECT_FALSE(resumed.Next(milliseconds(700))) << "more than what was missed";
  EXPECT_EQ(by_instance[a], missed_a);
  EXPECT_EQ(by_instance[b], missed_b);
  // Oldest first across instances too (entry ids of one Redis only go up).
  for (size_t i = 1; i < got.size(); ++i) {
    auto ms = [](const std::string& e) { return std::stoull(e.substr(0, e.find('-'))); };
    EXPECT_LE(ms(got[i - 1].event_id), ms(got[i].event_id));
  }
  // And live after it, with ids that resume from there.
  ASSERT_NO_FATAL_FAILURE(Act(b, "start", "STARTED"));
  auto live = resumed.Next(seconds(10));
  ASSERT_TRUE(live);
  EXPECT_EQ(Of(*live).instance, b);
  EXPECT_EQ(Of(*live).status, "STARTING");
}

TEST_F(TenantResume, MoreMissedThanTheCapIsAnExplicitReset) {
  auto ids = stack_->Seed(kCap / 2 + 2, "STOPPED", "acme");
  std::string last_id;
  {
    SseClient sse(stack_->port(), "/api/lambda-instances/events/", Headers());
    ASSERT_EQ(sse.ReadHead(seconds(5)), 200);
    ASSERT_NO_FATAL_FAILURE(Act(ids[0], "start", "STARTED"));
    for (int i = 0; i < 2; ++i) {
      auto e = sse.Next(seconds(10));
      ASSERT_TRUE(e);
      last_id = e->id;
    }
  }
  for (size_t i = 1; i < ids.size(); ++i) {
    ASSERT_NO_FATAL_FAILURE(Act(ids[i], "start", "STARTED"));  // 2 each: 14 in all, past 12
  }
  SseClient resumed(stack_->port(), "/api/lambda-instances/events/", Headers(last_id));
  ASSERT_EQ(resumed.ReadHead(seconds(5)), 200);
  auto e = resumed.Next(seconds(5));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->event, "reset") << e->data;
  EXPECT_NE(e->data.find("more than 12 changes"), std::string::npos) << e->data;
  auto after = resumed.Next(milliseconds(500));
  EXPECT_FALSE(after) << "after the reset: " << after->event << " " << after->data;
}

TEST_F(TenantResume, AMalformedLastEventIdIs400) {
  auto ids = stack_->Seed(1, "STOPPED", "acme");
  for (std::string bad : {"garbage", "1712345678901-0", "12.x:y", "12.*.a:1"}) {
    auto r = Http("GET", Api("events/"), Headers(bad));
    EXPECT_EQ(r.status, 400) << bad << "\n" << r.body;
    EXPECT_NE(r.body.find("Last-Event-ID"), std::string::npos) << bad;
  }
  // An instance's own stream too.
  auto one = Http("GET", Api(ids[0] + "/events/"), Headers("x-y"));
  EXPECT_EQ(one.status, 400) << one.body;
  EXPECT_NE(one.body.find("Last-Event-ID"), std::string::npos);
}

/// The npm `eventsource` package (v5), installed under the build directory on first use.
std::string EventSourceDir() {
  const std::string dir = testing::EnvOr("LAMBDA_ARTIFACTS_DIR", "/tmp") + "/../npm";
  if (testing::RunCommand("test -f " + dir + "/node_modules/eventsource/package.json").rc == 0) {
    return dir;
  }
  auto r = testing::RunCommand("mkdir -p " + dir + " && cd " + dir +
                               " && timeout 180 npm install --no-audit --no-fund --silent "
                               "--prefix . eventsource@5 2>&1");
  return r.rc == 0 ? dir : "";
}

TEST_F(TenantResume, TheNpmEventSourceClientReconnectsAndGetsEveryChange) {
  if (testing::RunCommand("node --version").rc != 0) GTEST_SKIP() << "node is not installed";
  const std::string dir = EventSourceDir();
  if (dir.empty()) GTEST_SKIP() << "npm could not install eventsource@5 (no registry?)";
  auto ids = stack_->Seed(2, "STOPPED", "acme");
  auto r = testing::RunCommand("timeout 60 node " + testing::EnvOr("LAMBDA_SOURCE_DIR", ".") +
                               "/tests/e2e/eventsource_resume.mjs " + dir + " " + stack_->url() +
                               " " + key_ + " " + ids[0] + " " + ids[1] + " 2>&1");
  ASSERT_EQ(r.rc, 0) << r.out;
  rapidjson::Document d;
  d.Parse(r.out.substr(r.out.find('{')).c_str());
  ASSERT_FALSE(d.HasParseError()) << r.out;
  ASSERT_FALSE(d.HasMember("error")) << r.out;
  const auto& before = d["before"].GetArray();
  ASSERT_GE(before.Size(), 2u) << r.out;
  ASSERT_TRUE(d["reconnect_last_event_id"].IsString()) << r.out;
  EXPECT_EQ(std::string(d["reconnect_last_event_id"].GetString()),
            std::string(before[before.Size() - 1]["id"].GetString()));
  std::map<std::string, std::vector<std::string>> after;
  for (const auto& e : d["after"].GetArray()) {
    ASSERT_EQ(std::string(e["event"].GetString()), "status") << r.out;
    after[e["instance_id"].GetString()].emplace_back(e["status"].GetString());
  }
  EXPECT_EQ(after[ids[0]], (std::vector<std::string>{"STOPPING", "STOPPED", "STARTING", "STARTED"}))
      << r.out;
  EXPECT_EQ(after[ids[1]], (std::vector<std::string>{"STARTING", "STARTED", "STOPPING", "STOPPED"}))
      << r.out;
}

}  // namespace
}  // namespace lambda

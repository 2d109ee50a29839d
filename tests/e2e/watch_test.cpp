// End to end: SPEC §4.4 watching (status waits, history, Server-Sent Events) and batches, against
// the real api-shim and workers on real Redis and RabbitMQ.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <thread>

#include "lambda/redis/keys.h"
#include "lambda/util/util.h"
#include "sse_client.h"
#include "support.h"

namespace lambda {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::CreateBody;
using testing::Http;
using testing::Json;
using testing::SseClient;
using testing::Stack;

class Watch : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack(Stack::Options{2, {"--sse-heartbeat-ms=300"}, {}});
    key_ = stack_->NewKey("acme");
    other_key_ = stack_->NewKey("globex");
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  static std::string Path(const std::string& rest) { return "/api/lambda-instances/" + rest; }
  static std::string Api(const std::string& rest) { return stack_->url() + Path(rest); }
  static std::vector<std::string> Auth(const std::string& key = key_) {
    return {"Authorization: Token " + key};
  }
  static std::string CreateStarted(const std::string& name, int step_ms = 0) {
    auto r = Http(
        "POST", Api(""), {Auth()[0], "Content-Type: application/json"},
        step_ms > 0 ? CreateBody(name, R"("simulate":{"step_ms":)" + std::to_string(step_ms) + "}")
                    : CreateBody(name));
    EXPECT_EQ(r.status, 202) << r.body;
    std::string id = Json(r.body)["data"][0]["id"].GetString();
    EXPECT_TRUE(stack_->WaitStatus(id, "STARTED", seconds(20))) << stack_->StatusOf(id);
    return id;
  }
  static std::string Message(const testing::HttpResponse& r) {
    auto d = Json(r.body);
    return d["data"][0]["status"]["message"].GetString();
  }
  static std::string EventStatus(const SseClient::Event& e) {
    auto d = Json(e.data);
    return d["status"]["message"].GetString();
  }

  static Stack* stack_;
  static std::string key_;
  static std::string other_key_;
};
Stack* Watch::stack_ = nullptr;
std::string Watch::key_;
std::string Watch::other_key_;

TEST_F(Watch, AWaitForAStatusAlreadyThereAnswersAtOnce) {
  std::string id = CreateStarted("already");
  auto t0 = std::chrono::steady_clock::now();
  auto r = Http("GET", Api(id + "/status/?wait_for=STARTED,FAILED&timeout=30"), Auth());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Message(r), "STARTED");
  EXPECT_EQ(r.headers["x-wait-reached"], "true");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(5));
}

TEST_F(Watch, AWaitIsHeldUntilTheStatusIsWritten) {
  std::string id = CreateStarted("held", 150);
  std::atomic<bool> answered{false};
  testing::HttpResponse waited;
  std::thread waiter([&] {
    waited = Http("GET", Api(id + "/status/?wait_for=stopped&timeout=60"), Auth());
    answered = true;
  });
  // Held: nothing is answered while the instance stays STARTED.
  std::this_thread::sleep_for(milliseconds(700));
  EXPECT_FALSE(answered.load());
  auto stop = Http("POST", Api(id + "/"), Auth(), "action=stop");
  ASSERT_EQ(stop.status, 202) << stop.body;
  waiter.join();
  ASSERT_EQ(waited.status, 200) << waited.body;
  EXPECT_EQ(Message(waited), "STOPPED");
  EXPECT_EQ(waited.headers["x-wait-reached"], "true");
  EXPECT_EQ(stack_->StatusOf(id), "STOPPED");
}

TEST_F(Watch, AWaitPastItsTimeoutAnswersTheCurrentStatus) {
  std::string id = CreateStarted("timeout");
  auto t0 = std::chrono::steady_clock::now();
  auto r = Http("GET", Api(id + "/status/?wait_for=DESTROYED&timeout=1"), Auth());
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Message(r), "STARTED");
  EXPECT_EQ(r.headers["x-wait-reached"], "false");
  EXPECT_GE(took, milliseconds(950));
  // timeout=0 is a plain read with the reached flag.
  auto now = Http("GET", Api(id + "/status/?wait_for=STARTED&timeout=0"), Auth());
  EXPECT_EQ(now.headers["x-wait-reached"], "true");
}

TEST_F(Watch, BadWatchParametersAre400sNamingTheProblem) {
  std::string id = CreateStarted("bad-params");
  struct Case {
    std::string query;
    std::string needle;
  };
  for (const Case& c : std::vector<Case>{
           {"status/?wait_for=SLEEPING", "wait_for: unknown status 'SLEEPING'"},
           {"status/?wait_for=", "wait_for: an empty status name"},
           {"status/?wait_for=STARTED,,STOPPED", "wait_for: an empty status name"},
           {"status/?wait_for=STARTED&timeout=301", "timeout: whole seconds from 0 to 300"},
           {"status/?wait_for=STARTED&timeout=-1", "timeout: whole seconds from 0 to 300"},
           {"status/?wait_for=STARTED&timeout=1.5", "timeout: whole seconds from 0 to 300"},
           {"events/?since=yesterday", "since: not an event id"},
           {"events/?since=1-0", "since: no such event in this instance's history"},
       }) {
    auto r = Http("GET", Api(id + "/" + c.query), Auth());
    EXPECT_EQ(r.status, 400) << c.query << " " << r.body;
    EXPECT_NE(r.body.find(c.needle), std::string::npos) << c.query << " " << r.body;
  }
}

TEST_F(Watch, AnotherTenantsInstanceIsNotFoundToEveryWatch) {
  std::string id = CreateStarted("tenancy");
  for (const std::string& q : std::vector<std::string>{"status/?wait_for=STOPPED&timeout=5",
                                                       "events/", "events/?since=1-0"}) {
    auto r = Http("GET", Api(id + "/" + q), Auth(other_key_));
    EXPECT_EQ(r.status, 404) << q << " " << r.body;
  }
  SseClient sse(stack_->port(), Path(id + "/events/"),
                {Auth(other_key_)[0], "Accept: text/event-stream"});
  EXPECT_EQ(sse.ReadHead(seconds(5)), 404) << sse.head();
  // Unknown ids too.
  auto r =
      Http("GET", Api("9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c/status/?wait_for=STARTED"), Auth());
  EXPECT_EQ(r.status, 404);
}

TEST_F(Watch, EventsListTheHistoryOldestFirstAndSinceAnEvent) {
  std::string id = CreateStarted("history");
  auto r = Http("GET", Api(id + "/events/"), Auth());
  ASSERT_EQ(r.status, 200) << r.body;
  auto d = Json(r.body);
  const auto& data = d["data"];
  std::vector<std::string> statuses;
  for (const auto& e : data.GetArray()) statuses.emplace_back(e["status"]["message"].GetString());
  std::vector<std::string> expected{"PENDING",           "CLUSTER_CREATED",  "INIT_DONE",
                                    "COMMONS_INSTALLED", "HADOOP_INSTALLED", "KAFKA_INSTALLED",
                                    "FLINK_INSTALLED",   "STARTED"};
  EXPECT_EQ(statuses, expected);
  EXPECT_EQ(data[0]["gen"].GetInt64(), 1);
  EXPECT_TRUE(data[0]["worker"].IsNull());    // the shim's admission
  EXPECT_TRUE(data[1]["worker"].IsString());  // a worker's write
  EXPECT_FALSE(std::string(data[1]["request_id"].GetString()).empty());
  EXPECT_EQ(std::string(data[7]["at"].GetString()).size(), 24u) << data[7]["at"].GetString();
  std::string third = data[2]["event_id"].GetString();
  auto since = Http("GET", Api(id + "/events/?since=" + third), Auth());
  ASSERT_EQ(since.status, 200) << since.body;
  auto s = Json(since.body);
  ASSERT_EQ(s["data"].Size(), 5u);
  EXPECT_STREQ(s["data"][0]["status"]["message"].GetString(), "COMMONS_INSTALLED");
}

TEST_F(Watch, AStreamSendsTheCurrentStatusThenEveryChangeAndResumesWithoutAGap) {
  std::string id = CreateStarted("stream", 100);
  std::string last_id;
  std::vector<int64_t> latencies_ms;
  {
    SseClient sse(stack_->port(), Path(id + "/events/"), {Auth()[0], "Accept: text/event-stream"});
    ASSERT_EQ(sse.ReadHead(seconds(5)), 200) << sse.head();
    EXPECT_NE(sse.head().find("Content-Type: text/event-stream"), std::string::npos);
    auto first = sse.Next(seconds(5));
    ASSERT_TRUE(first);
    EXPECT_EQ(first->event, "status");
    EXPECT_EQ(EventStatus(*first), "STARTED");
    ASSERT_EQ(Http("POST", Api(id + "/"), Auth(), "action=stop").status, 202);
    std::vector<std::string> seen;
    while (seen.empty() || seen.back() != "STOPPED") {
      auto e = sse.Next(seconds(10));
      ASSERT_TRUE(e) << "stream ended after " << seen.size() << " events";
      seen.push_back(EventStatus(*e));
      last_id = e->id;
      auto d = Json(e->data);
      // The worker's own clock stamped the write; the event is read here on the same machine.
      latencies_ms.push_back(util::NowMs() - d["at_ms"].GetInt64());
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"STOPPING", "STOPPED"}));
  }
  // While nobody watches it is started again; a client resuming from the last event it saw gets
  // exactly what came after, in order.
  ASSERT_EQ(Http("POST", Api(id + "/"), Auth(), "action=start").status, 202);
  ASSERT_TRUE(stack_->WaitStatus(id, "STARTED", seconds(20)));
  SseClient resumed(stack_->port(), Path(id + "/events/"),
                    {Auth()[0], "Accept: text/event-stream", "Last-Event-ID: " + last_id});
  ASSERT_EQ(resumed.ReadHead(seconds(5)), 200);
  std::vector<std::string> after;
  while (after.empty() || after.back() != "STARTED") {
    auto e = resumed.Next(seconds(10));
    ASSERT_TRUE(e);
    after.push_back(EventStatus(*e));
  }
  EXPECT_EQ(after, (std::vector<std::string>{"STARTING", "STARTED"}));
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::printf("status write -> SSE event at the client: max %lld ms over %zu events\n",
              static_cast<long long>(latencies_ms.back()), latencies_ms.size());
}

TEST_F(Watch, ATenantStreamCarriesEveryChangeOfItsOwnInstancesOnly) {
  auto mine = stack_->Seed(1, "STOPPED", "acme");
  auto theirs = stack_->Seed(1, "STOPPED", "globex");
  auto plain = Http("GET", Api("events/"), Auth());
  EXPECT_EQ(plain.status, 406) << plain.body;
  SseClient sse(stack_->port(), Path("events/"), {Auth()[0], "Accept: text/event-stream"});
  ASSERT_EQ(sse.ReadHead(seconds(5)), 200);
  // Their instance changes first, then mine: only mine arrives.
  ASSERT_EQ(Http("POST", Api(theirs[0] + "/"), Auth(other_key_), "action=start").status, 202);
  ASSERT_TRUE(stack_->WaitStatus(theirs[0], "STARTED", seconds(20)));
  ASSERT_EQ(Http("POST", Api(mine[0] + "/"), Auth(), "action=start").status, 202);
  std::vector<std::string> seen;
  while (seen.empty() || seen.back() != "STARTED") {
    auto e = sse.Next(seconds(10));
    ASSERT_TRUE(e) << "after " << seen.size() << " events";
    auto d = Json(e->data);
    EXPECT_EQ(std::string(d["instance_id"].GetString()), mine[0]);
    seen.emplace_back(d["status"]["message"].GetString());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"STARTING", "STARTED"}));
  EXPECT_GE(sse.comments(), 1);  // ": subscribed" came first
}

TEST_F(Watch, AStreamSendsHeartbeatsAndEndsWhenTheClientLeaves) {
  std::string id = CreateStarted("heartbeat");
  {
    SseClient sse(stack_->port(), Path(id + "/events/"), {Auth()[0], "Accept: text/event-stream"});
    ASSERT_EQ(sse.ReadHead(seconds(5)), 200);
    ASSERT_TRUE(sse.Next(seconds(5)));
    EXPECT_FALSE(sse.Next(milliseconds(1000)));  // no change: only comments
    EXPECT_GE(sse.comments(), 2);                // every 300 ms here (15 s by default)
  }
  // The client left: its watcher is gone.
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        auto m = Http("GET", stack_->url() + "/metrics");
        return m.body.find("lambda_watch_streams 0\n") != std::string::npos;
      },
      seconds(5)));
}

TEST_F(Watch, AWaitSurvivesALostSubscription) {
  std::string id = CreateStarted("resubscribe", 200);
  std::atomic<bool> answered{false};
  testing::HttpResponse waited;
  std::thread waiter([&] {
    waited = Http("GET", Api(id + "/status/?wait_for=STOPPED&timeout=60"), Auth());
    answered = true;
  });
  std::this_thread::sleep_for(milliseconds(300));
  // Redis drops the shim's subscriber connection; the stop is written while it reconnects.
  long long killed = stack_->redis().Int({"CLIENT", "KILL", "TYPE", "pubsub"});
  ASSERT_GE(killed, 1);
  ASSERT_EQ(Http("POST", Api(id + "/"), Auth(), "action=stop").status, 202);
  waiter.join();
  ASSERT_EQ(waited.status, 200) << waited.body;
  EXPECT_EQ(Message(waited), "STOPPED");
  EXPECT_NE(stack_->shim().Log().find(R"("subscribed":"false")"), std::string::npos);
}

long RssKb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

// Fan-out: many streams on one instance all see every change. Prints the memory each watcher
// costs the shim and how long the last of them waited for an event (LAMBDA_WATCH_SCALE_N sets
// how many; 1000 by default).
TEST_F(Watch, ThousandsOfStreamsAllSeeEveryChange) {
  const int n = std::atoi(testing::EnvOr("LAMBDA_WATCH_SCALE_N", "1000").c_str());
  std::string id = CreateStarted("fan-out", 150);
  long rss_before = RssKb(stack_->shim().pid());
  std::vector<std::unique_ptr<SseClient>> clients;
  clients.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<SseClient>(
        stack_->port(), Path(id + "/events/"),
        std::vector<std::string>{Auth()[0], "Accept: text/event-stream"}));
  }
  for (auto& c : clients) {
    ASSERT_EQ(c->ReadHead(seconds(20)), 200);
    auto first = c->Next(seconds(20));
    ASSERT_TRUE(first);
    ASSERT_EQ(EventStatus(*first), "STARTED");
  }
  long rss_during = RssKb(stack_->shim().pid());
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(Http("POST", Api(id + "/"), Auth(), "action=stop").status, 202);
  int64_t worst_ms = 0;
  for (auto& c : clients) {
    std::string status;
    while (status != "STOPPED") {
      auto e = c->Next(seconds(30));
      ASSERT_TRUE(e);
      status = EventStatus(*e);
      auto d = Json(e->data);
      worst_ms = std::max<int64_t>(worst_ms, util::NowMs() - d["at_ms"].GetInt64());
    }
  }
  auto took = std::chrono::steady_clock::now() - t0;
  std::printf(
      "%d streams: shim RSS %ld -> %ld KiB (%.1f KiB per watcher); stop 202 -> every client "
      "read STOPPED in %lld ms (read one after another by this test; the last read %lld ms after "
      "the write)\n",
      n, rss_before, rss_during, static_cast<double>(rss_during - rss_before) / n,
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()),
      static_cast<long long>(worst_ms));
}

// Latency from a status write (the history entry and the channel message, as write_status.lua
// makes them) to the event read by a stream's client, over many writes. Prints the figures.
TEST_F(Watch, StatusWriteToStreamEventLatency) {
  auto ids = stack_->Seed(1, "STOPPED", "acme");
  const std::string id = ids[0];
  SseClient sse(stack_->port(), Path(id + "/events/"), {Auth()[0], "Accept: text/event-stream"});
  ASSERT_EQ(sse.ReadHead(seconds(5)), 200);
  ASSERT_TRUE(sse.Next(seconds(5)));  // the current status
  const std::string p = stack_->redis_prefix();
  std::vector<double> us;
  for (int i = 0; i < 300; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    stack_->redis().Cmd(
        {"EVAL",
         "redis.call('XADD', KEYS[1], '*', 'status', '1', 'gen', '1', 'request_id', "
         "'r', 'worker', 'w', 'at', ARGV[2]) "
         "return redis.call('PUBLISH', KEYS[2], ARGV[1])",
         "2", redis::keys::History(p, id), p + "events", id + " 1 1",
         std::to_string(util::NowMs())});
    auto e = sse.Next(seconds(5));
    ASSERT_TRUE(e) << "event " << i << " never arrived";
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  std::printf(
      "status write -> stream event (one script like write_status's, %zu writes): p50 %.0f "
      "us, p99 %.0f us, max %.0f us\n",
      us.size(), us[us.size() / 2], us[us.size() * 99 / 100], us.back());
}

class WatchBounds : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ =
        new Stack(Stack::Options{1, {"--max-watchers=3", "--max-stream-backlog-bytes=16384"}, {}});
    key_ = stack_->NewKey("acme");
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  static Stack* stack_;
  static std::string key_;
};
Stack* WatchBounds::stack_ = nullptr;
std::string WatchBounds::key_;

TEST_F(WatchBounds, WatchersPastTheBoundGet503AndASlotComesBackWhenAClientLeaves) {
  auto ids = stack_->Seed(1, "STOPPED", "acme");
  std::string path = "/api/lambda-instances/" + ids[0] + "/events/";
  std::vector<std::string> h{"X-API-Key: " + key_, "Accept: text/event-stream"};
  auto a = std::make_unique<SseClient>(stack_->port(), path, h);
  SseClient b(stack_->port(), path, h), c(stack_->port(), path, h);
  for (SseClient* s : {a.get(), &b, &c}) ASSERT_EQ(s->ReadHead(seconds(5)), 200);
  SseClient d(stack_->port(), path, h);
  ASSERT_EQ(d.ReadHead(seconds(5)), 503) << d.head();
  EXPECT_NE(d.head().find("Retry-After:"), std::string::npos);
  auto poll = Http(
      "GET",
      stack_->url() + "/api/lambda-instances/" + ids[0] + "/status/?wait_for=STARTED&timeout=5",
      {"X-API-Key: " + key_});
  EXPECT_EQ(poll.status, 503) << poll.body;
  EXPECT_NE(poll.body.find("too many watchers"), std::string::npos) << poll.body;
  a.reset();  // one leaves
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        SseClient e(stack_->port(), path, h);
        return e.ReadHead(seconds(2)) == 200;
      },
      seconds(5)));
}

TEST_F(WatchBounds, ASlowReaderIsCutOffNotBuffered) {
  auto ids = stack_->Seed(1, "STOPPED", "acme");
  const std::string id = ids[0];
  // A client with a tiny receive window that never reads.
  SseClient slow(stack_->port(), "/api/lambda-instances/" + id + "/events/",
                 {"X-API-Key: " + key_, "Accept: text/event-stream"}, 2048);
  ASSERT_EQ(slow.ReadHead(seconds(5)), 200);
  // Thousands of status changes, written as a worker writes them (history entry + channel).
  const std::string p = stack_->redis_prefix();
  for (int i = 0; i < 3000; ++i) {
    stack_->redis().Cmd({"XADD", redis::keys::History(p, id), "*", "status", "1", "gen", "1",
                         "request_id", std::string(200, 'r'), "worker", "w", "at", "1"});
    stack_->redis().Cmd({"PUBLISH", p + "events", id + " 1 1"});
  }
  EXPECT_TRUE(testing::WaitFor(
      [&] { return stack_->shim().Log().find("slow stream reader cut off") != std::string::npos; },
      seconds(20)));
  EXPECT_TRUE(slow.Closed(seconds(10)));
  auto m = Http("GET", stack_->url() + "/metrics");
  EXPECT_NE(m.body.find("lambda_watch_streams 0\n"), std::string::npos) << m.body;
}

TEST(WatchShutdown, SigtermAnswersHeldWaitsEndsStreamsAndExitsPromptly) {
  Stack stack(Stack::Options{1, {}, {}});
  std::string key = stack.NewKey("acme");
  auto ids = stack.Seed(1, "STOPPED", "acme");
  std::string path = "/api/lambda-instances/" + ids[0];
  SseClient sse(stack.port(), path + "/events/",
                {"X-API-Key: " + key, "Accept: text/event-stream"});
  ASSERT_EQ(sse.ReadHead(seconds(5)), 200);
  ASSERT_TRUE(sse.Next(seconds(5)));
  testing::HttpResponse held;
  std::thread waiter([&] {
    held = Http("GET", stack.url() + path + "/status/?wait_for=STARTED&timeout=120",
                {"X-API-Key: " + key});
  });
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto m = Http("GET", stack.url() + "/metrics");
        return m.body.find("lambda_watch_waiters 1\n") != std::string::npos;
      },
      seconds(5)));
  auto t0 = std::chrono::steady_clock::now();
  stack.shim().Signal(SIGTERM);
  waiter.join();
  EXPECT_EQ(held.status, 200) << held.body;  // answered with the current status, not dropped
  EXPECT_EQ(held.headers["x-wait-reached"], "false");
  EXPECT_TRUE(sse.Closed(seconds(5)));
  EXPECT_EQ(stack.shim().Wait(milliseconds(10000)), 0) << stack.shim().Log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(8));
}

}  // namespace
}  // namespace lambda

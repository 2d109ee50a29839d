// Watching (SPEC §4.4) without servers: the parsers and shapes of watch/events, and the hub's
// fan-out against a fake Redis and fake streams.
#include <gtest/gtest.h>
#include <uv.h>

#include "lambda/redis/keys.h"
#include "redis_values.h"
#include "watch/events.h"
#include "watch/hub.h"

namespace lambda::watch {
namespace {

using domain::InstanceStatus;
using testing::Array;
using testing::Str;

const std::string kId = "9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c";

TEST(WatchParse, WaitForTakesNamesAnyCaseAndCodes) {
  auto w = ParseWaitFor("STARTED, failed,6");
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, (std::vector<InstanceStatus>{InstanceStatus::kStarted, InstanceStatus::kFailed,
                                             InstanceStatus::kDestroyed}));
  EXPECT_FALSE(ParseWaitFor(""));
  EXPECT_FALSE(ParseWaitFor("STARTED,"));
  EXPECT_FALSE(ParseWaitFor("99"));
  auto bad = ParseWaitFor("STARTED,NAPPING");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("'NAPPING'"), std::string::npos);
}

TEST(WatchParse, TimeoutIsWholeSecondsUpTo300) {
  EXPECT_EQ(*ParseTimeoutSeconds("0"), 0u);
  EXPECT_EQ(*ParseTimeoutSeconds("300"), 300u);
  for (const char* bad : {"301", "-1", "1.5", "", "ten", "99999999999999999999"}) {
    EXPECT_FALSE(ParseTimeoutSeconds(bad)) << bad;
  }
}

TEST(WatchParse, EntryIdsAndNotifications) {
  EXPECT_TRUE(IsEntryId("1712345678901-0"));
  for (const char* bad : {"", "-", "1-", "-1", "1-2-3", "a-1", "1712345678901"}) {
    EXPECT_FALSE(IsEntryId(bad)) << bad;
  }
  auto n = ParseNotification(kId + " 0 7");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->instance_id, kId);
  EXPECT_EQ(n->status_code, 0);
  EXPECT_EQ(n->gen, 7);
  for (const std::string& bad :
       std::vector<std::string>{"", "x", "x 1", " 1 2", "x y 2", "x 1 z"}) {
    EXPECT_FALSE(ParseNotification(bad)) << bad;
  }
}

redis::Value Entry(const std::string& id, const std::string& status, const std::string& worker) {
  return Array(
      {Str(id), Array({Str("status"), Str(status), Str("gen"), Str("3"), Str("request_id"),
                       Str("r-1"), Str("worker"), Str(worker), Str("at"), Str("1764614653123")})});
}

TEST(WatchShape, EntriesFramesAndHistory) {
  auto entries = EntriesFromReply(
      Array({Entry("1-0", "4", ""), Entry("2-0", "bogus", "w"), Entry("3-0", "1", "w-1")}));
  ASSERT_EQ(entries.size(), 2u);  // an unreadable status is skipped
  EXPECT_EQ(entries[1].status, InstanceStatus::kStopped);
  EXPECT_EQ(entries[1].gen, 3);
  EXPECT_EQ(
      EntryJson(kId, entries[0]),
      R"({"event_id":"1-0","instance_id":")" + kId +
          R"(","status":{"message":"STOPPING","code":"4","detail":"Lambda instance is stopping"},"gen":3,"request_id":"r-1","worker":null,"at":"2025-12-01T18:44:13.123Z","at_ms":1764614653123})");
  std::string frame = SseFrame(kId, entries[1]);
  EXPECT_EQ(frame.rfind("id: 3-0\nevent: status\ndata: {", 0), 0u) << frame;
  EXPECT_EQ(frame.substr(frame.size() - 3), "}\n\n");
  EXPECT_EQ(frame.find('\n', 30), frame.size() - 2);  // one data line
  EXPECT_NE(HistoryBody(kId, entries).find(R"("data":[{"event_id":"1-0")"), std::string::npos);
}

// --- the hub ---

class FakeRedis : public redis::Client {
 public:
  bool connected() const override { return true; }
  void Command(const std::vector<std::string>& argv, redis::Callback cb) override {
    calls.push_back({argv, std::move(cb)});
  }
  void EvalSha(const redis::Script&, const std::vector<std::string>&, std::vector<std::string>,
               redis::Callback cb) override {
    cb(Error{Code::kUnavailable, "not used"});
  }
  /// Answers the oldest call (moved out first: answering may queue another).
  void Answer(redis::Value v) {
    auto c = std::move(calls.front());
    calls.erase(calls.begin());
    c.cb(std::move(v));
  }
  struct Call {
    std::vector<std::string> argv;
    redis::Callback cb;
  };
  std::vector<Call> calls;
};

class FakeStream : public http::Stream {
 public:
  bool Send(std::string_view bytes) override {
    if (!open_) return false;
    sent.emplace_back(bytes);
    return true;
  }
  void End() override {
    if (!open_) return;
    open_ = false;
    if (auto cb = std::move(on_end_)) cb();
  }
  bool open() const override { return open_; }
  void OnEnd(std::function<void()> cb) override {
    if (!open_) return cb();
    on_end_ = std::move(cb);
  }
  std::vector<std::string> sent;

 private:
  bool open_ = true;
  std::function<void()> on_end_;
};

class HubTest : public ::testing::Test {
 protected:
  HubTest() {
    uv_loop_init(&loop_);
    hub_ = std::make_unique<Hub>(
        &loop_, &redis_, redis::Config{},
        "p:", HubLimits{.max_watchers = 3, .heartbeat_ms = 15000, .history_batch = 2});
    hub_->OnSubscribed(true);  // as the subscriber would say
  }
  ~HubTest() override {
    hub_.reset();
    uv_run(&loop_, UV_RUN_NOWAIT);
    uv_loop_close(&loop_);
  }
  uv_loop_t loop_{};
  FakeRedis redis_;
  std::unique_ptr<Hub> hub_;
};

TEST_F(HubTest, AWaiterWakesOnlyForAWantedStatusOfItsInstance) {
  std::vector<Wake> woke;
  ASSERT_TRUE(
      hub_->AddWaiter(kId, {InstanceStatus::kStopped}, 60000, [&](Wake w) { woke.push_back(w); }));
  hub_->OnMessage(kId + " 4 2");                                // STOPPING: not wanted
  hub_->OnMessage("00000000-57f9-48a6-af18-ef8a749b1e8c 1 2");  // another instance
  hub_->OnMessage("garbage");
  EXPECT_TRUE(woke.empty());
  hub_->OnMessage(kId + " 1 2");
  EXPECT_EQ(woke, std::vector<Wake>{Wake::kReached});
  EXPECT_EQ(hub_->waiters(), 0u);
  hub_->OnMessage(kId + " 1 2");  // woken once only
  EXPECT_EQ(woke.size(), 1u);
}

TEST_F(HubTest, WatchersAreBoundedAndRefusedWithoutTheChannel) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(hub_->AddWaiter(kId, {}, 60000, [](Wake) {}));
  auto refused = hub_->AddWaiter(kId, {}, 60000, [](Wake) {});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("too many watchers"), std::string::npos);
  hub_->OnSubscribed(false);
  EXPECT_NE(hub_->Refusal().find("not subscribed"), std::string::npos);
}

TEST_F(HubTest, AReSubscriptionWakesEveryWaiterToLookAgain) {
  std::vector<Wake> woke;
  ASSERT_TRUE(
      hub_->AddWaiter(kId, {InstanceStatus::kStopped}, 60000, [&](Wake w) { woke.push_back(w); }));
  hub_->OnSubscribed(false);
  EXPECT_TRUE(woke.empty());
  hub_->OnSubscribed(true);
  EXPECT_EQ(woke, std::vector<Wake>{Wake::kRecheck});
}

TEST_F(HubTest, ACancelledWaiterIsNeverWoken) {
  bool woke = false;
  auto t = hub_->AddWaiter(kId, {InstanceStatus::kStopped}, 60000, [&](Wake) { woke = true; });
  hub_->Cancel(*t);
  hub_->OnMessage(kId + " 1 2");
  hub_->Stop();
  EXPECT_FALSE(woke);
}

TEST_F(HubTest, StopWakesWaitersAndEndsStreams) {
  std::vector<Wake> woke;
  ASSERT_TRUE(
      hub_->AddWaiter(kId, {InstanceStatus::kStopped}, 60000, [&](Wake w) { woke.push_back(w); }));
  auto stream = std::make_shared<FakeStream>();
  hub_->AddStream(kId, "5-0", stream);
  hub_->Stop();
  EXPECT_EQ(woke, std::vector<Wake>{Wake::kShutdown});
  EXPECT_FALSE(stream->open());
  EXPECT_EQ(hub_->streams(), 0u);
  EXPECT_FALSE(hub_->AddWaiter(kId, {}, 1000, [](Wake) {}));
}

TEST_F(HubTest, AStreamStartsWithTheLatestEntryThenReadsOnlyWhatIsNew) {
  auto stream = std::make_shared<FakeStream>();
  hub_->AddStream(kId, "", stream);
  ASSERT_EQ(redis_.calls.size(), 1u);
  EXPECT_EQ(redis_.calls[0].argv,
            (std::vector<std::string>{"XREVRANGE", redis::keys::History("p:", kId), "+", "-",
                                      "COUNT", "1"}));
  // A change arrives while the first read is out: it is read after, not beside it.
  hub_->OnMessage(kId + " 4 2");
  EXPECT_EQ(redis_.calls.size(), 1u);
  redis_.Answer(Array({Entry("7-0", "0", "w")}));
  ASSERT_EQ(stream->sent.size(), 1u);
  EXPECT_EQ(stream->sent[0].rfind("id: 7-0\n", 0), 0u);
  ASSERT_EQ(redis_.calls.size(), 1u);
  EXPECT_EQ(redis_.calls[0].argv,
            (std::vector<std::string>{"XRANGE", redis::keys::History("p:", kId), "(7-0", "+",
                                      "COUNT", "2"}));
  // A full batch (2 here) is followed by another read at once.
  redis_.Answer(Array({Entry("8-0", "4", "w"), Entry("9-0", "1", "w")}));
  ASSERT_EQ(redis_.calls.size(), 1u);
  EXPECT_EQ(redis_.calls[0].argv[2], "(9-0");
  redis_.Answer(Array({}));
  EXPECT_EQ(stream->sent.size(), 3u);
  EXPECT_TRUE(redis_.calls.empty());
  // The client leaves: the stream is forgotten and its messages read nothing.
  stream->End();
  EXPECT_EQ(hub_->streams(), 0u);
  hub_->OnMessage(kId + " 0 3");
  EXPECT_TRUE(redis_.calls.empty());
}

TEST_F(HubTest, AResumedStreamReadsAfterTheLastEventIdAndSurvivesAFailedRead) {
  auto stream = std::make_shared<FakeStream>();
  hub_->AddStream(kId, "5-0", stream);
  ASSERT_EQ(redis_.calls.size(), 1u);
  EXPECT_EQ(redis_.calls[0].argv[0], "XRANGE");
  EXPECT_EQ(redis_.calls[0].argv[2], "(5-0");
  redis_.calls[0].cb(Error{Code::kTimeout, "lost"});
  redis_.calls.clear();
  EXPECT_TRUE(stream->open());  // the next re-subscription reads again
  hub_->OnSubscribed(false);
  hub_->OnSubscribed(true);
  ASSERT_EQ(redis_.calls.size(), 1u);
  EXPECT_EQ(redis_.calls[0].argv[2], "(5-0");
}

}  // namespace
}  // namespace lambda::watch

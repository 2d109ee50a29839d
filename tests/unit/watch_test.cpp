// Watching (SPEC §4.4) without servers: the parsers and shapes of watch/events, and the hub's
// fan-out against a fake Redis and fake streams.
#include <gtest/gtest.h>
#include <uv.h>

#include <algorithm>

#include "fake_redis.h"
#include "lambda/redis/keys.h"
#include "redis_values.h"
#include "watch/cursor.h"
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
  EXPECT_TRUE(IsEntryId("18446744073709551615-18446744073709551615"));
  // Out of Redis's range (unsigned 64-bit parts): refused here, not a Redis error (503).
  for (const char* bad :
       {"", "-", "1-", "-1", "1-2-3", "a-1", "1712345678901", "+1-0", "1-+0",
        "18446744073709551616-0", "1-18446744073709551616", "99999999999999999999999999999999-0"}) {
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

TEST(WatchParse, NotificationsNameTheirHistoryEntryAndOwner) {
  auto n = ParseNotification(kId + " 4 7 1712345678901-3 acme corp");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->gen, 7);
  EXPECT_EQ(n->entry_id, "1712345678901-3");
  EXPECT_EQ(n->owner, "acme corp");  // the owner is the rest of the line
  for (const std::string& bad :
       std::vector<std::string>{kId + " 4 7 1-0", kId + " 4 7 x-0 acme", kId + " 4 x 1-0 a"}) {
    EXPECT_FALSE(ParseNotification(bad)) << bad;
  }
  // A record without an owner still wakes its watchers (the tenant streams look it up).
  auto ownerless = ParseNotification(kId + " 4 7 1-0 ");
  ASSERT_TRUE(ownerless);
  EXPECT_EQ(ownerless->entry_id, "1-0");
  EXPECT_TRUE(ownerless->owner.empty());
  // Scripts of an older release: no entry, no owner (and no id on the tenant frame).
  auto old = ParseNotification(kId + " 4 7");
  ASSERT_TRUE(old);
  EXPECT_TRUE(old->entry_id.empty());
  EXPECT_EQ(TenantFrame(*old, "").rfind("event: status\ndata: {\"instance_id\"", 0), 0u);
  EXPECT_EQ(TenantFrame(*n, "5.a:1")
                .rfind("id: 5.a:1\nevent: status\ndata: {\"event_id\":"
                       "\"1712345678901-3\",\"instance_id\"",
                       0),
            0u);
  EXPECT_EQ(ResetFrame("why"), "event: reset\ndata: {\"reason\":\"why\"}\n\n");
  EXPECT_EQ(ResetFrame("why", "155"), "id: 155\nevent: reset\ndata: {\"reason\":\"why\"}\n\n");
}

// --- the tenant stream's cursor ---

const std::string kA = "aaaaaaaa-0000-4000-8000-000000000001";
const std::string kB = "bbbbbbbb-0000-4000-8000-000000000002";

TEST(WatchCursor, EntryIdsParseAndOrderAsRedisDoes) {
  EXPECT_EQ(*ParseEntryId("1712345678901-3"), (EntryId{1712345678901, 3}));
  EXPECT_LT(*ParseEntryId("9-9"), *ParseEntryId("10-0"));
  EXPECT_LT(*ParseEntryId("10-2"), *ParseEntryId("10-10"));
  for (const char* bad : {"", "-", "1-", "-1", "1-2-3", "a-1", "12", "99999999999999999999-0"}) {
    EXPECT_FALSE(ParseEntryId(bad)) << bad;
  }
}

TEST(WatchCursor, AdvanceNamesTheInstancesOfTheLatestMillisecond) {
  TenantCursor c;
  EXPECT_TRUE(c.empty());
  EXPECT_TRUE(c.Advance(kB, {100, 0}));
  EXPECT_EQ(c.Text(), "100." + kB + ":0");
  EXPECT_TRUE(c.Advance(kA, {100, 0}));  // another stream, same millisecond: both named, sorted
  EXPECT_EQ(c.Text(), "100." + kA + ":0." + kB + ":0");
  EXPECT_TRUE(c.Advance(kB, {100, 1}));
  EXPECT_EQ(c.Text(), "100." + kA + ":0." + kB + ":1");
  EXPECT_EQ(c.StartFor(kA), (EntryId{100, 1}));  // after what was sent of it
  EXPECT_EQ(c.StartFor(kB), (EntryId{100, 2}));
  EXPECT_EQ(c.StartFor("other"), (EntryId{100, 0}));  // all of that millisecond
  EXPECT_TRUE(c.Advance(kA, {101, 0}));               // a later millisecond: only it is named
  EXPECT_EQ(c.Text(), "101." + kA + ":0");
  // Older than the cursor's millisecond (another node's slower clock): the cursor stays.
  EXPECT_FALSE(c.Advance(kB, {99, 5}));
  EXPECT_EQ(c.Text(), "101." + kA + ":0");
  auto back = TenantCursor::Parse(c.Text());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->Text(), c.Text());
  EXPECT_EQ(back->StartFor(kA), (EntryId{101, 1}));
}

TEST(WatchCursor, MoreInstancesInOneMillisecondThanAnIdNamesCannotBeResumed) {
  TenantCursor c;
  for (size_t i = 0; i <= kMaxCursorTies; ++i) c.Advance("i" + std::to_string(i), {7, 0});
  EXPECT_EQ(c.Text(), "7.*");
  EXPECT_FALSE(c.resumable());
  auto parsed = TenantCursor::Parse("7.*");
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->resumable());
  EXPECT_TRUE(PlanResume(*parsed, {}, 10).reset);
  c.Advance(kA, {8, 0});  // the next millisecond starts clean
  EXPECT_EQ(c.Text(), "8." + kA + ":0");
}

TEST(WatchCursor, MalformedIdsAreRefused) {
  for (const std::string& bad : std::vector<std::string>{
           "", "x", "1712345678901-0", "12.", "12." + kA, "12." + kA + ":", "12." + kA + ":x",
           "12." + kA + ":1." + kA + ":2", "12.a b:1", "-5", "12.*.a:1", "99999999999999999999",
           "12." + std::string(65, 'a') + ":1"}) {
    auto c = TenantCursor::Parse(bad);
    ASSERT_FALSE(c) << bad;
    EXPECT_NE(c.error().message.find("Last-Event-ID"), std::string::npos);
  }
  std::string many = "12";
  for (size_t i = 0; i <= kMaxCursorTies; ++i) many += ".i" + std::to_string(i) + ":0";
  EXPECT_FALSE(TenantCursor::Parse(many));
}

HistoryEntry At(const std::string& id, InstanceStatus s) {
  HistoryEntry e;
  e.entry_id = id;
  e.status = s;
  return e;
}

TEST(WatchCursor, AResumeSendsEveryMissedChangeOnceOldestFirst) {
  auto from = *TenantCursor::Parse("100." + kA + ":0");
  std::vector<InstanceTail> tails{
      {kB,
       {At("100-0", InstanceStatus::kStopping), At("103-0", InstanceStatus::kStopped)},
       std::nullopt},
      // kA's 100-0 was sent: a tail that still holds it does not send it again.
      {kA,
       {At("100-0", InstanceStatus::kStarting), At("101-0", InstanceStatus::kStarted)},
       EntryId{50, 0}}};  // trimmed, but only before what is needed
  auto plan = PlanResume(from, tails, 10);
  ASSERT_FALSE(plan.reset) << plan.reason;
  std::vector<std::string> got;
  for (const auto& [id, e] : plan.events) got.push_back(id.substr(0, 1) + e.entry_id);
  EXPECT_EQ(got, (std::vector<std::string>{"b100-0", "a101-0", "b103-0"}));
}

TEST(WatchCursor, AResumePastTheCapOrPastATrimmedHistoryIsAReset) {
  auto from = *TenantCursor::Parse("100");
  std::vector<InstanceTail> three{
      {kA,
       {At("101-0", InstanceStatus::kStopping), At("102-0", InstanceStatus::kStopped),
        At("103-0", InstanceStatus::kStarting)},
       std::nullopt}};
  EXPECT_FALSE(PlanResume(from, three, 3).reset);
  auto over = PlanResume(from, three, 2);
  EXPECT_TRUE(over.reset);
  EXPECT_TRUE(over.events.empty());
  EXPECT_NE(over.reason.find("more than 2"), std::string::npos);
  three[0].trimmed_before = EntryId{100, 0};  // what is gone is older than 100-0: all still here
  EXPECT_FALSE(PlanResume(from, three, 3).reset);
  three[0].trimmed_before = EntryId{100, 1};  // 100-0 may have been removed
  auto trimmed = PlanResume(from, three, 3);
  EXPECT_TRUE(trimmed.reset);
  EXPECT_NE(trimmed.reason.find("trimmed"), std::string::npos);
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

using FakeRedis = testing::RecordingRedis;

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

TEST_F(HubTest, ATenantAtItsCapIsRefusedWhileAnotherTenantsWatchesAreTaken) {
  hub_ = std::make_unique<Hub>(&loop_, &redis_, redis::Config{},
                               "p:", HubLimits{.max_watchers = 100, .heartbeat_ms = 15000});
  hub_->OnSubscribed(true);
  const WatchOwner a{"a", "key-a", 2}, b{"b", "key-b", 2};
  ASSERT_TRUE(hub_->AddWaiter(
      kId, {}, 60000, [](Wake) {}, a));
  auto stream = std::make_shared<FakeStream>();
  hub_->AddStream(kId, "5-0", stream, a);
  EXPECT_TRUE(hub_->TenantFull(a));
  auto refused = hub_->AddWaiter(
      kId, {}, 60000, [](Wake) {}, a);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kConflict);  // the tenant's cap, not the hub's
  auto late = std::make_shared<FakeStream>();
  hub_->AddTenantStream("a", late, std::nullopt, a);
  EXPECT_FALSE(late->open());
  EXPECT_FALSE(hub_->TenantFull(b));
  ASSERT_TRUE(hub_->AddWaiter(
      kId, {}, 60000, [](Wake) {}, b));
  EXPECT_EQ(hub_->HeldBy("a"), 2u);
  EXPECT_EQ(hub_->HeldBy("b"), 1u);
  EXPECT_EQ(hub_->MostHeld(), 2u);
  EXPECT_EQ(hub_->tenants_watching(), 2u);
  stream->End();  // a slot comes back
  EXPECT_FALSE(hub_->TenantFull(a));
  EXPECT_TRUE(hub_->AddWaiter(
      kId, {}, 60000, [](Wake) {}, a));
}

TEST_F(HubTest, ARevokedKeysWaitsAndStreamsEndAndNoOtherKeys) {
  std::vector<Wake> woke;
  const WatchOwner revoked{"t", "old-key"}, kept{"t", "new-key"};
  ASSERT_TRUE(hub_->AddWaiter(
      kId, {InstanceStatus::kStopped}, 60000, [&](Wake w) { woke.push_back(w); }, revoked));
  auto stream = std::make_shared<FakeStream>();
  hub_->AddStream(kId, "5-0", stream, revoked);
  auto other = std::make_shared<FakeStream>();
  hub_->AddTenantStream("t", other, std::nullopt, kept);
  auto keys = hub_->Keys();
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"new-key", "old-key"}));
  hub_->EndKey("old-key");
  EXPECT_EQ(woke, std::vector<Wake>{Wake::kRevoked});
  EXPECT_FALSE(stream->open());
  EXPECT_TRUE(other->open());
  EXPECT_EQ(hub_->Keys(), std::vector<std::string>{"new-key"});
}

TEST_F(HubTest, EveryStreamOfAnInstanceSharesOneReadPerChange) {
  hub_ = std::make_unique<Hub>(&loop_, &redis_, redis::Config{},
                               "p:", HubLimits{.max_watchers = 1000, .heartbeat_ms = 15000});
  hub_->OnSubscribed(true);
  std::vector<std::shared_ptr<FakeStream>> streams;
  for (int i = 0; i < 100; ++i) {
    streams.push_back(std::make_shared<FakeStream>());
    hub_->AddStream(kId, "5-0", streams.back());
  }
  // The first one's read is out; the other 99, added meanwhile, join it.
  ASSERT_EQ(redis_.calls.size(), 1u);
  redis_.Answer(Array({}));
  ASSERT_TRUE(redis_.calls.empty());
  hub_->OnMessage(kId + " 4 2");
  ASSERT_EQ(redis_.calls.size(), 1u);  // one read for the 100 streams, not 100
  EXPECT_EQ(redis_.calls[0].argv[2], "(5-0");
  redis_.Answer(Array({Entry("6-0", "4", "w")}));
  for (const auto& s : streams) ASSERT_EQ(s->sent.size(), 1u);
  hub_->OnMessage(kId + " 1 3");
  ASSERT_EQ(redis_.calls.size(), 1u);
  EXPECT_EQ(redis_.calls[0].argv[2], "(6-0");
  redis_.Answer(Array({Entry("7-0", "1", "w")}));
  for (const auto& s : streams) EXPECT_EQ(s->sent.size(), 2u);
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

TEST_F(HubTest, TenantFramesCarryACursorIdAndNeedNoLookup) {
  auto stream = std::make_shared<FakeStream>();
  hub_->AddTenantStream("acme", stream);
  hub_->OnMessage(kA + " 4 2 100-0 acme");
  hub_->OnMessage(kB + " 4 2 100-0 acme");
  hub_->OnMessage(kB + " 4 2 101-0 globex");  // another tenant's
  EXPECT_TRUE(redis_.calls.empty());          // the owner came with the message
  ASSERT_EQ(stream->sent.size(), 3u);
  EXPECT_EQ(stream->sent[0], ": subscribed\n\n");
  EXPECT_EQ(stream->sent[1].rfind("id: 100." + kA + ":0\nevent: status\n", 0), 0u);
  EXPECT_EQ(stream->sent[2].rfind("id: 100." + kA + ":0." + kB + ":0\n", 0), 0u);
}

redis::Value Tail(const std::string& trimmed, std::vector<redis::Value> entries) {
  return Array({Str(trimmed), Array(std::move(entries))});
}

TEST_F(HubTest, ATenantStreamResumesFromItsLastEventIdThenGoesLive) {
  auto stream = std::make_shared<FakeStream>();
  hub_->AddTenantStream("acme", stream, *TenantCursor::Parse("100." + kA + ":0"));
  ASSERT_EQ(redis_.calls.size(), 1u);
  EXPECT_EQ(redis_.calls[0].argv,
            (std::vector<std::string>{"ZRANGE", redis::keys::TenantIds("p:", "acme"), "0", "-1"}));
  redis_.Answer(Array({Str(kA), Str(kB)}));
  ASSERT_EQ(redis_.calls.size(), 2u);
  EXPECT_EQ(redis_.calls[0].argv,
            (std::vector<std::string>{"EVALSHA", "history_tail", redis::keys::History("p:", kA),
                                      "100-1", "257"}));
  EXPECT_EQ(redis_.calls[1].argv[3], "100-0");
  // A change comes live while the histories are read: held, and sent once.
  hub_->OnMessage(kB + " 1 4 102-0 acme");
  hub_->OnMessage(kB + " 0 5 104-0 acme");
  EXPECT_EQ(stream->sent.size(), 1u);
  redis_.Answer(Tail("", {Entry("101-0", "4", "w")}));
  redis_.Answer(Tail("", {Entry("100-0", "4", "w"), Entry("102-0", "1", "w")}));
  std::vector<std::string> ids;
  for (size_t i = 1; i < stream->sent.size(); ++i) {
    ids.push_back(stream->sent[i].substr(4, stream->sent[i].find('\n') - 4));
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"100." + kA + ":0." + kB + ":0", "101." + kA + ":0",
                                           "102." + kB + ":0", "104." + kB + ":0"}));
  EXPECT_TRUE(redis_.calls.empty());
}

TEST_F(HubTest, ATenantResumeThatCannotBeExactIsAnExplicitReset) {
  auto stream = std::make_shared<FakeStream>();
  hub_->AddTenantStream("acme", stream, *TenantCursor::Parse("100"));
  redis_.Answer(Array({Str(kA)}));
  hub_->OnMessage(kA + " 1 4 155-0 acme");  // during the reads: the relist will show it
  redis_.Answer(Tail("150-0", {Entry("150-0", "4", "w")}));  // 100-0..150-0 was trimmed
  ASSERT_EQ(stream->sent.size(), 2u);
  // It carries the newest millisecond it saw (the held 155-0): a reconnect after the client's
  // relist resumes there instead of resetting again for the same old id.
  EXPECT_EQ(stream->sent[1].rfind("id: 155\nevent: reset\ndata: {\"reason\":\"changes after", 0),
            0u)
      << stream->sent[1];
  hub_->OnMessage(kA + " 1 4 160-0 acme");  // live again, with a fresh cursor
  EXPECT_EQ(stream->sent.back().rfind("id: 160." + kA + ":0\n", 0), 0u);
  // A failed read is a reset too.
  auto other = std::make_shared<FakeStream>();
  hub_->AddTenantStream("acme", other, *TenantCursor::Parse("100"));
  redis_.calls[0].cb(Error{Code::kTimeout, "lost"});
  redis_.calls.clear();
  EXPECT_EQ(other->sent.back().rfind("event: reset\n", 0), 0u);
}

TEST_F(HubTest, ATenantResumeOverAnEmptyIndexEndsAndGoesLive) {
  auto stream = std::make_shared<FakeStream>();
  hub_->AddTenantStream("acme", stream, *TenantCursor::Parse("100"));
  ASSERT_EQ(redis_.calls.size(), 1u);
  redis_.Answer(Array(std::vector<redis::Value>{}));  // the tenant has no instances (any more)
  EXPECT_TRUE(redis_.calls.empty());
  hub_->OnMessage(kA + " 1 4 160-0 acme");  // not held forever: sent at once
  EXPECT_EQ(stream->sent.back().rfind("id: 160." + kA + ":0\n", 0), 0u) << stream->sent.back();
}

TEST_F(HubTest, ATenantResumeStopsReadingOnceItMustResetAnyway) {
  uv_loop_t loop{};
  uv_loop_init(&loop);
  FakeRedis redis;
  {
    Hub hub(&loop, &redis, redis::Config{}, "p:",
            HubLimits{.max_watchers = 3,
                      .heartbeat_ms = 15000,
                      .history_batch = 2,
                      .replay_max = 2,
                      .replay_reads = 1});
    hub.OnSubscribed(true);
    auto stream = std::make_shared<FakeStream>();
    hub.AddTenantStream("acme", stream, *TenantCursor::Parse("100"));
    redis.Answer(Array({Str(kA), Str(kB), Str("c"), Str("d")}));
    ASSERT_EQ(redis.calls.size(), 1u);
    EXPECT_EQ(redis.calls[0].argv.back(), "3");  // replay_max + 1
    redis.Answer(Tail("", {Entry("101-0", "4", "w"), Entry("102-0", "1", "w")}));
    ASSERT_EQ(redis.calls.size(), 1u);
    EXPECT_EQ(redis.calls[0].argv.back(), "1");  // only what could still fit
    redis.Answer(Tail("", {Entry("103-0", "4", "w")}));
    EXPECT_TRUE(redis.calls.empty());  // three missed: past the cap, the rest is not read
    EXPECT_EQ(stream->sent.back().rfind("id: 103\nevent: reset\n", 0), 0u) << stream->sent.back();
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  uv_loop_close(&loop);
}

TEST_F(HubTest, AReSubscribedTenantStreamCatchesUpFromItsCursor) {
  auto fresh = std::make_shared<FakeStream>();
  auto going = std::make_shared<FakeStream>();
  hub_->AddTenantStream("acme", fresh);
  hub_->AddTenantStream("globex", going);
  hub_->OnMessage(kB + " 4 2 100-0 globex");
  hub_->OnSubscribed(false);
  hub_->OnSubscribed(true);
  EXPECT_EQ(fresh->sent.back(), "event: resync\ndata: {}\n\n");  // nothing sent: it lists
  ASSERT_EQ(redis_.calls.size(), 1u);                            // the other resumes
  EXPECT_EQ(redis_.calls[0].argv[1], redis::keys::TenantIds("p:", "globex"));
}

}  // namespace
}  // namespace lambda::watch

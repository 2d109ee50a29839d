// The admission protocol against fakes of its ports: every branch of admit → publish → settle.
#include "admission/admission.h"

#include <gtest/gtest.h>

#include "admission/redis_store.h"
#include "fake_redis.h"
#include "redis_values.h"

namespace lambda::shim {
namespace {

using testing::Array;
using testing::Int;
using testing::Str;

const std::string kId = "9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c";

class FakeStore : public AdmissionStore {
 public:
  struct AdmitCall {
    AdmitPlan plan;
    std::string token;
    std::function<void(Result<AdmitReply>)> done;
  };
  struct SettleCall {
    bool confirm;
    std::string token;
    redis::args::IdGens id_gens;
    std::function<void(Result<SettleReply>)> done;
  };
  bool connected() const override { return up; }
  void Admit(const AdmitPlan& plan, const std::string& token,
             std::function<void(Result<AdmitReply>)> done) override {
    admits.push_back({plan, token, std::move(done)});
  }
  void Settle(bool confirm, const std::string& token, const redis::args::IdGens& id_gens,
              const std::string& /*why*/, std::function<void(Result<SettleReply>)> done) override {
    settles.push_back({confirm, token, id_gens, std::move(done)});
  }
  bool up = true;
  std::vector<AdmitCall> admits;
  std::vector<SettleCall> settles;
};

class FakePublisher : public amqp::Publisher {
 public:
  struct Pub {
    std::string body;
    std::function<void(Status)> done;
  };
  void Publish(const std::string& exchange, const std::string& /*routing_key*/,
               std::string_view body, const amqp::PublishOptions& /*options*/,
               std::function<void(Status)> done) override {
    EXPECT_EQ(exchange, topology_.actions_exchange);
    if (!up) return done(Error{Code::kUnavailable, "amqp is not connected"});
    pubs.push_back({std::string(body), std::move(done)});
  }
  bool connected() const override { return up; }
  size_t in_flight() const override { return pubs.size(); }
  const amqp::Topology& topology() const override { return topology_; }
  bool up = true;
  std::vector<Pub> pubs;

 private:
  amqp::Topology topology_{"test"};
};

AdmitReply Admitted(std::vector<std::pair<std::string, int64_t>> id_gens) {
  AdmitReply r;
  r.admitted = std::move(id_gens);
  return r;
}

SettleReply Reply(size_t total, size_t confirmed, size_t undone) {
  return SettleReply{total, confirmed, undone};
}

class AdmissionTest : public ::testing::Test {
 protected:
  AdmissionTest() {
    ports_.store = &store_;
    ports_.publisher = &publisher_;
    ports_.parked = &parked_;
    ports_.now_ms = [this] { return now_; };
    ports_.new_token = [] { return std::string("tok-1"); };
    ports_.counters = &counters_;
    ports_.settle_budget_ms = 1000;
  }

  std::shared_ptr<Admission> Start(AdmitPlan::Kind kind = AdmitPlan::Kind::kOne,
                                   std::vector<std::string> ids = {kId}) {
    AdmitPlan plan;
    plan.kind = kind;
    plan.action =
        kind == AdmitPlan::Kind::kCreate ? domain::Action::kCreate : domain::Action::kStart;
    plan.ids = std::move(ids);
    plan.tenant = "t";
    plan.request_id = "req-1";
    auto a = Admission::Start(ports_, plan, [this](const AdmissionOutcome& o) {
      ++answers_;
      outcome_ = o;
    });
    EXPECT_EQ(store_.admits.size(), 1U);
    EXPECT_EQ(store_.admits.back().token, "tok-1");
    return a;
  }
  /// Admits `kId` at gen 7 and returns the admission waiting for its confirm.
  std::shared_ptr<Admission> Publishing() {
    auto a = Start();
    store_.admits[0].done(Admitted({{kId, 7}}));
    EXPECT_EQ(a->step(), Admission::Step::kPublishing);
    EXPECT_EQ(publisher_.pubs.size(), 1U);
    return a;
  }

  FakeStore store_;
  FakePublisher publisher_;
  ParkedSettlements parked_;
  AdmissionPorts ports_;
  AdmissionCounters counters_;
  uint64_t now_ = 1000;
  int answers_ = 0;
  AdmissionOutcome outcome_;
};

TEST_F(AdmissionTest, ConfirmedPublishIsConfirmedInRedisThenAccepted) {
  auto a = Publishing();
  EXPECT_NE(publisher_.pubs[0].body.find("\"gen\":7"), std::string::npos);
  EXPECT_NE(publisher_.pubs[0].body.find("\"request_id\":\"req-1\""), std::string::npos);
  publisher_.pubs[0].done(OkStatus());
  ASSERT_EQ(a->step(), Admission::Step::kSettling);
  ASSERT_EQ(store_.settles.size(), 1U);
  EXPECT_TRUE(store_.settles[0].confirm);
  EXPECT_EQ(store_.settles[0].token, "tok-1");
  EXPECT_EQ(store_.settles[0].id_gens, (redis::args::IdGens{{kId, "7"}}));
  EXPECT_EQ(answers_, 0);  // no 202 before Redis knows it is confirmed
  store_.settles[0].done(Reply(1, 1, 0));
  EXPECT_EQ(a->step(), Admission::Step::kDone);
  EXPECT_EQ(answers_, 1);
  EXPECT_EQ(outcome_.kind, AdmissionOutcome::Kind::kAccepted);
  EXPECT_EQ(counters_.publishes_confirmed, 1U);
}

TEST_F(AdmissionTest, NackedReturnedTimedOutAndLostPublishesAreUndoneThen503) {
  for (const auto& failure :
       {Error{Code::kUnavailable, "broker refused the message (nack)"},
        Error{Code::kUnavailable, "message was unroutable (returned)"},
        Error{Code::kTimeout, "broker did not confirm in time"},
        Error{Code::kUnavailable, "amqp connection lost: a socket error occurred"}}) {
    store_.admits.clear();
    store_.settles.clear();
    publisher_.pubs.clear();
    answers_ = 0;
    auto a = Publishing();
    publisher_.pubs[0].done(failure);
    ASSERT_EQ(store_.settles.size(), 1U) << failure.message;
    EXPECT_FALSE(store_.settles[0].confirm);
    EXPECT_EQ(store_.settles[0].id_gens, (redis::args::IdGens{{kId, "7"}}));
    store_.settles[0].done(Reply(1, 0, 1));
    EXPECT_EQ(answers_, 1);
    EXPECT_EQ(outcome_.kind, AdmissionOutcome::Kind::kUnavailable) << failure.message;
    EXPECT_EQ(outcome_.error, failure.message);
    EXPECT_EQ(a->step(), Admission::Step::kDone);
  }
  EXPECT_EQ(counters_.publishes_failed, 4U);
  EXPECT_EQ(counters_.undone, 4U);
}

TEST_F(AdmissionTest, ABrokerThatIsNotConnectedRefusesAtOnceAndTheAdmissionIsUndone) {
  publisher_.up = false;
  auto a = Start();
  store_.admits[0].done(Admitted({{kId, 3}}));
  ASSERT_EQ(store_.settles.size(), 1U);  // refused inside Publish: settled without a round trip
  EXPECT_FALSE(store_.settles[0].confirm);
  store_.settles[0].done(Reply(1, 0, 1));
  EXPECT_EQ(outcome_.kind, AdmissionOutcome::Kind::kUnavailable);
  EXPECT_EQ(outcome_.error, "amqp is not connected");
}

TEST_F(AdmissionTest, ALostRedisReplyIsAnswered503AtOnceAndUndoneByItsTokenAnyGen) {
  std::weak_ptr<Admission> weak = Start();
  store_.admits[0].done(Error{Code::kTimeout, "redis command timed out"});
  EXPECT_EQ(answers_, 1);
  EXPECT_EQ(outcome_.kind, AdmissionOutcome::Kind::kUnavailable);
  EXPECT_EQ(counters_.reply_lost, 1U);
  ASSERT_EQ(store_.settles.size(), 1U);
  EXPECT_FALSE(store_.settles[0].confirm);
  EXPECT_EQ(store_.settles[0].token, "tok-1");
  EXPECT_EQ(store_.settles[0].id_gens, (redis::args::IdGens{{kId, ""}}));  // gen never learnt
  ASSERT_FALSE(weak.expired());  // the undo carries on, unwatched
  EXPECT_EQ(weak.lock()->deadline_ms(), now_ + 20 * 1000);
  store_.settles[0].done(Reply(1, 0, 1));
  EXPECT_EQ(answers_, 1);  // answered once only
  store_.admits.clear();   // the fakes' copies of the callbacks
  store_.settles.clear();
  EXPECT_TRUE(weak.expired());
  EXPECT_TRUE(publisher_.pubs.empty());
}

TEST_F(AdmissionTest, ARedisErrorBeforeAdmittingChangesNothing) {
  Start();
  store_.admits[0].done(Error{Code::kUnavailable, "redis is not connected"});
  EXPECT_EQ(outcome_.kind, AdmissionOutcome::Kind::kUnavailable);
  EXPECT_TRUE(store_.settles.empty());
  EXPECT_TRUE(publisher_.pubs.empty());
}

TEST_F(AdmissionTest, AnUndoRacedByANewerGenOrAClaimAnswersWhatHappened) {
  // absent: a newer admission replaced this one (its gen moved on) → nothing of ours stands: 503.
  auto a = Publishing();
  publisher_.pubs[0].done(Error{Code::kTimeout, "broker did not confirm in time"});
  store_.settles[0].done(Reply(1, 0, 0));
  EXPECT_EQ(outcome_.kind, AdmissionOutcome::Kind::kUnavailable);
  // confirmed: a worker claimed the command although its confirm never reached us → 202.
  store_.admits.clear();
  store_.settles.clear();
  publisher_.pubs.clear();
  auto b = Publishing();
  publisher_.pubs[0].done(Error{Code::kTimeout, "broker did not confirm in time"});
  store_.settles[0].done(Reply(1, 1, 0));
  EXPECT_EQ(outcome_.kind, AdmissionOutcome::Kind::kAccepted);
}

TEST_F(AdmissionTest, AConfirmTheReconcilerBeatIsNotAccepted) {
  auto a = Publishing();
  publisher_.pubs[0].done(OkStatus());
  store_.settles[0].done(Reply(1, 0, 1));
  EXPECT_EQ(outcome_.kind, AdmissionOutcome::Kind::kUnavailable);
  EXPECT_EQ(outcome_.error, "admission expired unconfirmed");
}

TEST_F(AdmissionTest, ASettlementRedisDidNotTakeWaitsThenRetriesOrEndsUnknown) {
  auto a = Publishing();
  publisher_.pubs[0].done(OkStatus());
  store_.settles[0].done(Error{Code::kUnavailable, "redis is not connected"});
  EXPECT_EQ(a->step(), Admission::Step::kAwaitingRedis);
  EXPECT_EQ(parked_.size(), 1U);
  parked_.Tick(false, now_ + 500);  // within the budget: keeps waiting
  EXPECT_EQ(parked_.size(), 1U);
  parked_.Tick(true, now_ + 600);  // Redis is back: sent again
  ASSERT_EQ(store_.settles.size(), 2U);
  EXPECT_TRUE(store_.settles[1].confirm);
  store_.settles[1].done(Reply(1, 1, 0));
  EXPECT_EQ(outcome_.kind, AdmissionOutcome::Kind::kAccepted);

  // Past the budget with Redis still away: 504, the outcome is unknown (never a 503).
  store_.admits.clear();
  store_.settles.clear();
  publisher_.pubs.clear();
  auto b = Publishing();
  publisher_.pubs[0].done(OkStatus());
  store_.settles[0].done(Error{Code::kTimeout, "redis command timed out"});
  parked_.Tick(false, now_ + 1000);
  EXPECT_EQ(b->step(), Admission::Step::kDone);
  EXPECT_EQ(outcome_.kind, AdmissionOutcome::Kind::kUnknown);
  EXPECT_EQ(counters_.unsettled, 1U);
  EXPECT_EQ(parked_.size(), 0U);
}

TEST_F(AdmissionTest, ABatchSettlesOnceEveryPublishAnsweredAllOrNothing) {
  std::vector<std::string> ids{"a", "b", "c"};
  auto a = Start(AdmitPlan::Kind::kMany, ids);
  store_.admits[0].done(Admitted({{"a", 2}, {"b", 5}, {"c", 9}}));
  ASSERT_EQ(publisher_.pubs.size(), 3U);
  publisher_.pubs[0].done(OkStatus());
  publisher_.pubs[2].done(Error{Code::kUnavailable, "broker refused the message (nack)"});
  EXPECT_TRUE(store_.settles.empty());  // one still in flight
  publisher_.pubs[1].done(OkStatus());
  ASSERT_EQ(store_.settles.size(), 1U);
  EXPECT_FALSE(store_.settles[0].confirm);  // one failed: every admission is undone
  EXPECT_EQ(store_.settles[0].id_gens, (redis::args::IdGens{{"a", "2"}, {"b", "5"}, {"c", "9"}}));
  store_.settles[0].done(Reply(3, 1, 2));  // one had been claimed already
  EXPECT_EQ(outcome_.kind, AdmissionOutcome::Kind::kUnknown);
}

TEST_F(AdmissionTest, NotFoundRefusedAndCollisionNeverPublish) {
  Start();
  AdmitReply refused;
  refused.kind = AdmitReply::Kind::kRefused;
  refused.id = kId;
  refused.status = domain::InstanceStatus::kStarted;
  store_.admits[0].done(refused);
  EXPECT_EQ(outcome_.kind, AdmissionOutcome::Kind::kRefused);
  EXPECT_EQ(outcome_.status, domain::InstanceStatus::kStarted);
  store_.admits.clear();
  Start(AdmitPlan::Kind::kCreate, {"new-id"});
  AdmitReply collision;
  collision.kind = AdmitReply::Kind::kCollision;
  store_.admits[0].done(collision);
  EXPECT_EQ(outcome_.kind, AdmissionOutcome::Kind::kUnavailable);
  EXPECT_TRUE(publisher_.pubs.empty());
  EXPECT_TRUE(store_.settles.empty());
}

TEST_F(AdmissionTest, AnAcceptedCreateCarriesItsNewId) {
  std::weak_ptr<Admission> weak = Start(AdmitPlan::Kind::kCreate, {"new-id"});
  store_.admits[0].done(Admitted({{"new-id", 1}}));
  publisher_.pubs[0].done(OkStatus());
  store_.settles[0].done(Reply(1, 1, 0));
  EXPECT_EQ(outcome_.kind, AdmissionOutcome::Kind::kAccepted);
  EXPECT_EQ(outcome_.id, "new-id");
  store_.admits.clear();  // the fakes' copies of the callbacks
  store_.settles.clear();
  publisher_.pubs.clear();
  EXPECT_TRUE(weak.expired());  // nothing holds a finished admission
}

TEST(RedisAdmissionStore, ParsesEveryScriptReply) {
  using K = AdmitPlan::Kind;
  auto one = RedisAdmissionStore::ParseAdmit(K::kOne, {kId}, Array({Str("ok"), Int(4)}));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->admitted, (std::vector<std::pair<std::string, int64_t>>{{kId, 4}}));
  auto refused = RedisAdmissionStore::ParseAdmit(K::kOne, {kId}, Array({Str("refused"), Int(3)}));
  EXPECT_EQ(refused->kind, AdmitReply::Kind::kRefused);
  EXPECT_EQ(refused->status, domain::InstanceStatus::kStarting);
  EXPECT_EQ(RedisAdmissionStore::ParseAdmit(K::kOne, {kId}, Array({Str("notfound")}))->kind,
            AdmitReply::Kind::kNotFound);
  EXPECT_FALSE(RedisAdmissionStore::ParseAdmit(K::kOne, {kId}, Array({Str("ok")})).ok());
  // A batch has no one-script answer any more (admitted per instance): nothing to parse.
  EXPECT_FALSE(RedisAdmissionStore::ParseAdmit(K::kMany, {"a"}, Array({Str("ok")})).ok());
  EXPECT_EQ(RedisAdmissionStore::ParseAdmit(K::kCreate, {"n"}, Array({Str("dup")}))->kind,
            AdmitReply::Kind::kCollision);
  auto s = RedisAdmissionStore::ParseSettle(
      Array({Str("undone"), Str("confirmed"), Str("absent"), Str("undone")}));
  EXPECT_EQ(s.total, 4U);
  EXPECT_EQ(s.undone, 2U);
  EXPECT_EQ(s.confirmed, 1U);
}

// With replicas to wait for, a settlement counts only once they hold it: an undo or confirm only
// the master had is lost in a failover (the replica still holds the admission unconfirmed), so a
// 503 could be followed by a worker running the command after all (seen in the cluster chaos
// test). A short WAIT is an error, and the admission settles again.
TEST(RedisAdmissionStore, ASettlementCountsOnlyOnceTheReplicasHoldIt) {
  for (bool confirm : {false, true}) {
    SCOPED_TRACE(confirm ? "confirm" : "undo");
    testing::RecordingRedis redis;
    RedisAdmissionStore store(&redis, "p:", 16, /*wait_replicas=*/1, /*wait_timeout_ms=*/500);
    std::vector<Result<SettleReply>> answers;
    auto settle = [&] {
      store.Settle(confirm, "tok", {{kId, "4"}}, "why",
                   [&](Result<SettleReply> r) { answers.push_back(std::move(r)); });
    };
    const auto outcome = Array({Str(confirm ? "confirmed" : "undone")});

    settle();
    ASSERT_EQ(redis.calls.size(), 1U);
    EXPECT_EQ(redis.calls[0].argv[1], confirm ? "confirm" : "undo_admission");
    redis.Answer(outcome);
    ASSERT_EQ(redis.calls.size(), 1U) << "answered before the replicas held it";
    EXPECT_EQ(redis.calls[0].argv, (std::vector<std::string>{"WAIT", "1", "500"}));
    EXPECT_TRUE(answers.empty());
    redis.Answer(Int(0));  // no replica took it in time
    ASSERT_EQ(answers.size(), 1U);
    EXPECT_FALSE(answers[0].ok());

    settle();  // settled again: the replica has it now
    redis.Answer(outcome);
    redis.Answer(Int(1));
    ASSERT_EQ(answers.size(), 2U);
    ASSERT_TRUE(answers[1].ok());
    EXPECT_EQ(confirm ? answers[1]->confirmed : answers[1]->undone, 1U);
    EXPECT_TRUE(redis.calls.empty());
  }
}

TEST(RedisAdmissionStore, WithoutReplicasASettlementIsAnsweredAtOnce) {
  testing::RecordingRedis redis;
  RedisAdmissionStore store(&redis, "p:", 16);
  std::vector<Result<SettleReply>> answers;
  store.Settle(false, "tok", {{kId, "4"}}, "why",
               [&](Result<SettleReply> r) { answers.push_back(std::move(r)); });
  redis.Answer(Array({Str("undone")}));
  ASSERT_EQ(answers.size(), 1U);
  EXPECT_EQ(answers[0]->undone, 1U);
  EXPECT_TRUE(redis.calls.empty());
}

}  // namespace
}  // namespace lambda::shim

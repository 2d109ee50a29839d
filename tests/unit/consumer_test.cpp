// The worker's dispatch against fakes of its AMQP ports (and a Redis client that is never
// connected, so every claim answers "unavailable" at once, without I/O).
#include "consumer/consumer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "lambda/domain/command.h"
#include "lambda/util/util.h"
#include "lambda/uv/handle.h"
#include "redis_values.h"

namespace lambda::worker {
namespace {

class FakePublisher : public amqp::Publisher {
 public:
  struct Pub {
    std::string exchange, routing_key, body;
    amqp::PublishOptions options;
    std::function<void(Status)> done;
  };
  void Publish(const std::string& exchange, const std::string& routing_key, std::string_view body,
               const amqp::PublishOptions& options, std::function<void(Status)> done) override {
    pubs.push_back({exchange, routing_key, std::string(body), options, std::move(done)});
  }
  bool connected() const override { return true; }
  size_t in_flight() const override { return pubs.size(); }
  const amqp::Topology& topology() const override { return topology_; }
  std::vector<Pub> pubs;

 private:
  amqp::Topology topology_{"test"};
};

class FakeAcks : public amqp::DeliveryAcks {
 public:
  Status Ack(uint64_t epoch, uint64_t tag) override {
    acked.emplace_back(epoch, tag);
    return OkStatus();
  }
  Status Reject(uint64_t epoch, uint64_t tag, bool requeue) override {
    rejected.emplace_back(epoch, tag);
    EXPECT_TRUE(requeue);
    return OkStatus();
  }
  std::vector<std::pair<uint64_t, uint64_t>> acked, rejected;
};

class ConsumerTest : public ::testing::Test {
 protected:
  ConsumerTest() { uv_loop_init(&loop_); }
  ~ConsumerTest() override {
    consumer_.reset();
    redis_.reset();
    EXPECT_TRUE(uv::DrainAndClose(&loop_));
  }
  void SetUp() override {
    redis_ = std::make_unique<redis::AsyncClient>(&loop_, redis::Config{});  // never started
    JobContext ctx{&loop_, redis_.get(), nullptr, nullptr, "p:", "w1", 1000, 100, 5, 10, 100};
    ConsumerConfig config;
    config.max_attempts = 3;
    config.retry_delay_ms = 250;
    config.hold_touch_ms = 0;
    consumer_ = std::make_unique<Consumer>(ctx, config);
    consumer_->Attach(&publisher_, &acks_);
  }
  static amqp::Delivery Delivery(uint64_t epoch, uint64_t tag, std::string body) {
    amqp::Delivery d;
    d.epoch = epoch;
    d.tag = tag;
    d.body = std::move(body);
    d.message_id = "m-" + std::to_string(tag);
    return d;
  }
  static std::string Command(int attempt, std::string id = "9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c") {
    domain::Command c;
    c.request_id = "req";
    c.instance_id = std::move(id);
    c.action = domain::Action::kStart;
    c.gen = 4;
    c.issued_at = 1;
    c.attempt = attempt;
    return domain::ToJson(c);
  }

  uv_loop_t loop_;
  std::unique_ptr<redis::AsyncClient> redis_;
  std::unique_ptr<Consumer> consumer_;
  FakePublisher publisher_;
  FakeAcks acks_;
};

TEST_F(ConsumerTest, AnInvalidCommandIsDeadLetteredWithItsReasonThenAcked) {
  consumer_->OnDelivery(Delivery(7, 1, R"({"nope":1})"));
  ASSERT_EQ(publisher_.pubs.size(), 1U);
  const auto& dead = publisher_.pubs[0];
  EXPECT_EQ(dead.exchange, publisher_.topology().dead_exchange);
  EXPECT_EQ(dead.body, R"({"nope":1})");
  ASSERT_FALSE(dead.options.headers.empty());
  EXPECT_EQ(dead.options.headers[0].first, "x-lambda-reason");
  EXPECT_TRUE(acks_.acked.empty());  // not before the dead letter is safely with the broker
  publisher_.pubs[0].done(OkStatus());
  EXPECT_EQ(acks_.acked, (std::vector<std::pair<uint64_t, uint64_t>>{{7, 1}}));
  EXPECT_EQ(consumer_->counters().dead_lettered, 1U);
}

TEST_F(ConsumerTest, ACopyTheBrokerRefusedRequeuesTheDeliveryInstead) {
  consumer_->OnDelivery(Delivery(7, 2, "not json"));
  publisher_.pubs[0].done(Error{Code::kUnavailable, "broker refused the message (nack)"});
  EXPECT_TRUE(acks_.acked.empty());
  EXPECT_EQ(acks_.rejected, (std::vector<std::pair<uint64_t, uint64_t>>{{7, 2}}));
}

TEST_F(ConsumerTest, RedisDownSendsTheCommandThroughTheRetryQueueWithItsNextAttempt) {
  consumer_->OnDelivery(Delivery(3, 9, Command(1)));
  ASSERT_EQ(publisher_.pubs.size(), 1U);
  const auto& retry = publisher_.pubs[0];
  EXPECT_EQ(retry.exchange, publisher_.topology().retry_exchange);
  EXPECT_EQ(retry.routing_key, "250");  // the tier that covers retry_delay_ms
  EXPECT_EQ(retry.options.expiration_ms, 250U);
  auto parsed = domain::ParseCommand(retry.body);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->attempt, 2);
  EXPECT_EQ(parsed->gen, 4);
  EXPECT_EQ(consumer_->in_flight(), 0U);
  publisher_.pubs[0].done(OkStatus());
  EXPECT_EQ(acks_.acked, (std::vector<std::pair<uint64_t, uint64_t>>{{3, 9}}));
}

TEST_F(ConsumerTest, PastItsAttemptsACommandIsDeadLettered) {
  consumer_->OnDelivery(Delivery(3, 10, Command(3)));  // max_attempts is 3
  ASSERT_EQ(publisher_.pubs.size(), 1U);
  EXPECT_EQ(publisher_.pubs[0].exchange, publisher_.topology().dead_exchange);
  EXPECT_NE(publisher_.pubs[0].options.headers[0].second.find("gave up after 3 attempts"),
            std::string::npos);
}

TEST_F(ConsumerTest, ABatchIsAckedOnceEveryOneOfItsCommandsIsSettled) {
  std::string batch = "[" + Command(1) + "," + Command(1, "1ac8e7ab-57f9-48a6-af18-ef8a749b1e8c") +
                      "," + Command(3, "2ac8e7ab-57f9-48a6-af18-ef8a749b1e8c") + "]";
  consumer_->OnDelivery(Delivery(3, 12, batch));
  // Redis is down: two commands go through the retry queue, the third (past its attempts) to
  // the dead letters, each as its own single-command message.
  ASSERT_EQ(publisher_.pubs.size(), 3U);
  EXPECT_EQ(publisher_.pubs[2].exchange, publisher_.topology().dead_exchange);
  for (const auto& p : publisher_.pubs) EXPECT_TRUE(domain::ParseCommand(p.body).ok()) << p.body;
  EXPECT_EQ(consumer_->counters().deliveries, 1U);
  EXPECT_EQ(consumer_->counters().commands, 3U);
  publisher_.pubs[0].done(OkStatus());
  publisher_.pubs[2].done(OkStatus());
  EXPECT_TRUE(acks_.acked.empty());  // one command is not settled yet
  publisher_.pubs[1].done(OkStatus());
  EXPECT_EQ(acks_.acked, (std::vector<std::pair<uint64_t, uint64_t>>{{3, 12}}));
  EXPECT_TRUE(acks_.rejected.empty());
}

TEST_F(ConsumerTest, ABatchWithACopyTheBrokerRefusedComesBackWhole) {
  std::string batch =
      "[" + Command(1) + "," + Command(1, "1ac8e7ab-57f9-48a6-af18-ef8a749b1e8c") + "]";
  consumer_->OnDelivery(Delivery(3, 13, batch));
  ASSERT_EQ(publisher_.pubs.size(), 2U);
  publisher_.pubs[0].done(Error{Code::kUnavailable, "nack"});
  publisher_.pubs[1].done(OkStatus());
  EXPECT_TRUE(acks_.acked.empty());
  EXPECT_EQ(acks_.rejected, (std::vector<std::pair<uint64_t, uint64_t>>{{3, 13}}));
}

TEST_F(ConsumerTest, ABatchWithOneBadCommandIsDeadLetteredWhole) {
  std::string batch = "[" + Command(1) + R"(,{"v":1}])";
  consumer_->OnDelivery(Delivery(3, 14, batch));
  ASSERT_EQ(publisher_.pubs.size(), 1U);
  EXPECT_EQ(publisher_.pubs[0].exchange, publisher_.topology().dead_exchange);
  EXPECT_EQ(publisher_.pubs[0].body, batch);
  EXPECT_NE(publisher_.pubs[0].options.headers[0].second.find("[1]."), std::string::npos);
}

TEST_F(ConsumerTest, AfterStopIntakeDeliveriesGoBackAtOnce) {
  consumer_->StopIntake();
  consumer_->OnDelivery(Delivery(5, 11, Command(1)));
  EXPECT_TRUE(publisher_.pubs.empty());
  EXPECT_EQ(acks_.rejected, (std::vector<std::pair<uint64_t, uint64_t>>{{5, 11}}));
}

/// A Redis whose peek.lua answers with each instance's owner at once and whose claims are held
/// open (the slot stays taken, no job runs): what the fair dispatch decides, without I/O.
class ScriptedRedis : public redis::Client {
 public:
  bool connected() const override { return true; }
  void Command(const std::vector<std::string>&, redis::Callback cb) override {
    cb(testing::Str("ok"));
  }
  void EvalSha(const redis::Script& script, const std::vector<std::string>&,
               std::vector<std::string> args, redis::Callback cb) override {
    std::string name(script.name);
    if (name == "peek") {
      peeks.emplace_back(args.at(1), std::stoll(args.at(3)));
      return cb(testing::Array({testing::Str("ok"), testing::Str(owners.at(args.at(1)))}));
    }
    if (name == "claim") claims.push_back(args.at(1));
    held_open.push_back(std::move(cb));
  }
  std::map<std::string, std::string> owners;           ///< instance id -> tenant
  std::vector<std::pair<std::string, int64_t>> peeks;  ///< instance id, seen_ms
  std::vector<std::string> claims;
  std::vector<redis::Callback> held_open;
};

TEST(FairDispatch, ATenantPastItsShareWaitsOrIsDeferredWhileANewcomerStartsAtOnce) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    ScriptedRedis redis;
    FakePublisher publisher;
    FakeAcks acks;
    const std::string b1 = "b1c8e7ab-57f9-48a6-af18-ef8a749b1e8c",
                      b2 = "b2c8e7ab-57f9-48a6-af18-ef8a749b1e8c",
                      b3 = "b3c8e7ab-57f9-48a6-af18-ef8a749b1e8c",
                      a1 = "a1c8e7ab-57f9-48a6-af18-ef8a749b1e8c";
    redis.owners = {{b1, "b"}, {b2, "b"}, {b3, "b"}, {a1, "a"}};
    JobContext ctx{&loop, &redis, nullptr, nullptr, "p:", "w1", 1000, 100, 5, 10, 100};
    ConsumerConfig config;
    config.retry_delay_ms = 1000;
    config.hold_touch_ms = 0;
    config.fair = FairLimits{2, 1, 1, 10};  // 2 slots, 1 a tenant, 1 held a tenant
    Consumer consumer(ctx, config);
    consumer.Attach(&publisher, &acks);
    auto command = [](const std::string& id) {
      domain::Command c;
      c.request_id = "req-" + id.substr(0, 2);
      c.instance_id = id;
      c.action = domain::Action::kCreate;
      c.gen = 1;
      c.issued_at = 1;
      return domain::ToJson(c);
    };
    uint64_t tag = 0;
    const int64_t delivered_ms = util::NowMs();
    for (const auto& id : {b1, b2, b3, a1}) {
      amqp::Delivery d;
      d.epoch = 1;
      d.tag = ++tag;
      d.body = command(id);
      consumer.OnDelivery(std::move(d));
    }
    // b1 took b's one slot, b2 waits for it, b3 is past b's share of what is held: deferred.
    // a1, a newcomer, started at once in the other slot.
    EXPECT_EQ(redis.claims, (std::vector<std::string>{b1, a1}));
    EXPECT_EQ(consumer.in_flight(), 2U);
    EXPECT_EQ(consumer.held(), 1U);
    EXPECT_EQ(consumer.counters().deferred, 1U);
    ASSERT_EQ(publisher.pubs.size(), 1U);
    EXPECT_EQ(publisher.pubs[0].exchange, publisher.topology().retry_exchange);
    auto deferred = domain::ParseCommand(publisher.pubs[0].body);
    ASSERT_TRUE(deferred.ok());
    EXPECT_EQ(deferred->instance_id, b3);
    EXPECT_EQ(deferred->attempt, 2);  // its back-off doubles with each deferral
    // Its outbox entry is moved to when the copy is back, so the reconciler leaves it alone.
    ASSERT_EQ(redis.peeks.size(), 5U);  // one a delivery, and b3's touch
    int64_t b3_due = 0;
    for (const auto& [id, seen] : redis.peeks) {
      if (id == b3) b3_due = std::max(b3_due, seen);
    }
    EXPECT_GE(b3_due - delivered_ms, 1000);  // not NowMs(): time passes on a busy machine
    EXPECT_TRUE(acks.acked.empty());
    publisher.pubs[0].done(OkStatus());
    EXPECT_EQ(acks.acked, (std::vector<std::pair<uint64_t, uint64_t>>{{1, 3}}));
    // Shutting down, what waits for a slot goes back to the broker whole.
    consumer.StopIntake();
    EXPECT_EQ(acks.rejected, (std::vector<std::pair<uint64_t, uint64_t>>{{1, 2}}));
    EXPECT_EQ(consumer.held(), 0U);
  }
  EXPECT_TRUE(uv::DrainAndClose(&loop));
}

}  // namespace
}  // namespace lambda::worker

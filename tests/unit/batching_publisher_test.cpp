// The shim packs the commands of one loop iteration into one message (against a fake broker).
#include "admission/batching_publisher.h"

#include <gtest/gtest.h>

#include "lambda/domain/command.h"
#include "lambda/uv/handle.h"

namespace lambda::shim {
namespace {

class FakeBroker : public amqp::Publisher {
 public:
  struct Pub {
    std::string exchange, body;
    amqp::PublishOptions options;
    std::function<void(Status)> done;
  };
  void Publish(const std::string& exchange, const std::string& /*routing_key*/,
               std::string_view body, const amqp::PublishOptions& options,
               std::function<void(Status)> done) override {
    pubs.push_back({exchange, std::string(body), options, std::move(done)});
  }
  bool connected() const override { return up; }
  size_t in_flight() const override { return pubs.size(); }
  const amqp::Topology& topology() const override { return topology_; }
  bool up = true;
  std::vector<Pub> pubs;

 private:
  amqp::Topology topology_{"test"};
};

std::string Cmd(int gen) {
  domain::Command c;
  c.request_id = "r" + std::to_string(gen);
  c.instance_id = "9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c";
  c.gen = gen;
  return domain::ToJson(c);
}

class BatchingPublisherTest : public ::testing::Test {
 protected:
  void Publish(BatchingPublisher& p, int gen, std::vector<Status>* out) {
    amqp::PublishOptions o;
    o.message_id = "r" + std::to_string(gen);
    p.Publish(broker_.topology().actions_exchange, amqp::Topology::kActionKey, Cmd(gen), o,
              [out](Status st) { out->push_back(std::move(st)); });
  }
  FakeBroker broker_;
};

TEST_F(BatchingPublisherTest, CommandsOfOneTurnLeaveAsOneMessageAndShareItsOutcome) {
  BatchingPublisher p(nullptr, broker_, 64);
  std::vector<Status> outcomes;
  for (int g = 1; g <= 3; ++g) Publish(p, g, &outcomes);
  EXPECT_TRUE(broker_.pubs.empty());
  EXPECT_EQ(p.in_flight(), 3U);
  p.Flush();
  ASSERT_EQ(broker_.pubs.size(), 1U);
  auto batch = domain::ParseCommands(broker_.pubs[0].body);
  ASSERT_TRUE(batch.ok()) << batch.error().message;
  ASSERT_EQ(batch->size(), 3U);
  EXPECT_EQ((*batch)[2].gen, 3);
  EXPECT_EQ(broker_.pubs[0].options.message_id, "r1");
  broker_.pubs[0].done(Error{Code::kUnavailable, "nack"});
  ASSERT_EQ(outcomes.size(), 3U);
  for (const auto& st : outcomes) EXPECT_FALSE(st.ok());
  EXPECT_EQ(p.messages_sent(), 1U);
  EXPECT_EQ(p.commands_sent(), 3U);
}

TEST_F(BatchingPublisherTest, ALoneCommandIsItsOwnObjectAndAFullBatchLeavesAtOnce) {
  BatchingPublisher p(nullptr, broker_, 2);
  std::vector<Status> outcomes;
  Publish(p, 1, &outcomes);
  Publish(p, 2, &outcomes);  // the batch is full: sent without waiting for the turn's end
  ASSERT_EQ(broker_.pubs.size(), 1U);
  Publish(p, 3, &outcomes);
  p.Flush();
  ASSERT_EQ(broker_.pubs.size(), 2U);
  EXPECT_EQ(broker_.pubs[1].body, Cmd(3));
  broker_.pubs[0].done(OkStatus());
  broker_.pubs[1].done(OkStatus());
  EXPECT_EQ(outcomes.size(), 3U);
}

TEST_F(BatchingPublisherTest, RetriesDeadLettersAndABrokerThatIsAwayGoStraightThrough) {
  BatchingPublisher p(nullptr, broker_, 64);
  std::vector<Status> outcomes;
  amqp::PublishOptions ttl;
  ttl.expiration_ms = 250;
  p.Publish(broker_.topology().actions_exchange, amqp::Topology::kActionKey, Cmd(1), ttl,
            [&](Status st) { outcomes.push_back(std::move(st)); });
  p.Publish(broker_.topology().retry_exchange, "250", Cmd(2), {},
            [&](Status st) { outcomes.push_back(std::move(st)); });
  EXPECT_EQ(broker_.pubs.size(), 2U);
  broker_.up = false;
  Publish(p, 3, &outcomes);
  EXPECT_EQ(broker_.pubs.size(), 3U);
  BatchingPublisher one(nullptr, broker_, 1);
  broker_.up = true;
  Publish(one, 4, &outcomes);
  EXPECT_EQ(broker_.pubs.size(), 4U);
}

TEST_F(BatchingPublisherTest, OnALoopTheTurnsCommandsAreSentAfterItsCallbacks) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    BatchingPublisher p(&loop, broker_, 64);
    std::vector<Status> outcomes;
    uv::Timer t(&loop);
    t.Start(1, 0, [&] {
      Publish(p, 1, &outcomes);
      Publish(p, 2, &outcomes);
    });
    // The timer fires; the held commands keep poll from blocking, and the check handle sends.
    for (int i = 0; i < 100 && broker_.pubs.empty(); ++i) uv_run(&loop, UV_RUN_ONCE);
    ASSERT_EQ(broker_.pubs.size(), 1U);
    EXPECT_EQ(broker_.pubs[0].body.front(), '[');
  }
  EXPECT_TRUE(uv::DrainAndClose(&loop));
}

}  // namespace
}  // namespace lambda::shim

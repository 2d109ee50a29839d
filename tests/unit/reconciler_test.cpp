// The reconciler's pass against a fake Redis (scripts answered by name, commands by argv) and a
// fake publisher.
#include "reconciler/reconciler.h"

#include <gtest/gtest.h>

#include "lambda/domain/command.h"
#include "lambda/redis/keys.h"
#include "lambda/uv/handle.h"
#include "redis_values.h"

namespace lambda::worker {
namespace {

using testing::Array;
using testing::Int;
using testing::Str;

class FakeRedis : public redis::Client {
 public:
  struct Call {
    std::string script;  ///< "" for a plain command
    std::vector<std::string> keys, args;
    redis::Callback done;
  };
  bool connected() const override { return true; }
  void Command(const std::vector<std::string>& argv, redis::Callback cb) override {
    calls.push_back({"", {}, argv, std::move(cb)});
  }
  void EvalSha(const redis::Script& script, const std::vector<std::string>& keys,
               std::vector<std::string> args, redis::Callback cb) override {
    calls.push_back({std::string(script.name), keys, std::move(args), std::move(cb)});
  }
  /// Answers call `i` (its callback moved out first: answering may issue the next call).
  void Answer(size_t i, redis::Value v) {
    auto done = std::move(calls.at(i).done);
    done(std::move(v));
  }
  std::vector<Call> calls;
};

class FakePublisher : public amqp::Publisher {
 public:
  void Publish(const std::string& exchange, const std::string& /*routing_key*/,
               std::string_view body, const amqp::PublishOptions& /*options*/,
               std::function<void(Status)> done) override {
    EXPECT_EQ(exchange, topology_.actions_exchange);
    bodies.emplace_back(body);
    done(OkStatus());
  }
  bool connected() const override { return up; }
  size_t in_flight() const override { return 0; }
  const amqp::Topology& topology() const override { return topology_; }
  bool up = true;
  std::vector<std::string> bodies;

 private:
  amqp::Topology topology_{"test"};
};

class ReconcilerTest : public ::testing::Test {
 protected:
  ReconcilerTest() { uv_loop_init(&loop_); }
  ~ReconcilerTest() override {
    reconciler_.reset();
    EXPECT_TRUE(uv::DrainAndClose(&loop_));
  }
  void SetUp() override {
    ReconcilerConfig config;
    config.interval_ms = 5;
    config.buckets_per_pass = 3;
    reconciler_ = std::make_unique<Reconciler>(&loop_, &redis_, config, "p:", "w1", 100);
    reconciler_->Attach(&publisher_);
    reconciler_->Start();
  }
  /// Runs the loop until the fake saw `n` script calls (bounded).
  void RunUntilCalls(size_t n) {
    for (int i = 0; i < 400 && redis_.calls.size() < n; ++i) uv_run(&loop_, UV_RUN_ONCE);
    reconciler_->Stop();
    ASSERT_GE(redis_.calls.size(), n);
  }

  uv_loop_t loop_;
  FakeRedis redis_;
  FakePublisher publisher_;
  std::unique_ptr<Reconciler> reconciler_;
};

TEST_F(ReconcilerTest, APassWalksASliceOfBucketsThenLooksAtEachDueInstance) {
  RunUntilCalls(1);
  ASSERT_EQ(redis_.calls[0].script, "reconciler_lease");
  EXPECT_EQ(redis_.calls[0].keys, (std::vector<std::string>{redis::keys::ReconcilerLease("p:")}));
  EXPECT_EQ(redis_.calls[0].args, (std::vector<std::string>{"w1", "15"}));
  redis_.Answer(0, Int(1));
  // The first slice of buckets: slots 0, 1, 2, each one ZRANGEBYSCORE in its own slot.
  ASSERT_EQ(redis_.calls.size(), 4U);
  for (int slot = 0; slot < 3; ++slot) {
    const auto& c = redis_.calls[1 + slot];
    ASSERT_EQ(c.script, "");
    EXPECT_EQ(c.args.at(0), "ZRANGEBYSCORE");
    EXPECT_EQ(c.args.at(1), redis::keys::PendingBucket("p:", slot));
    EXPECT_EQ(redis::keys::SlotOf(c.args.at(1)), slot);
  }
  const std::string republished = "6f1c2d9e-0a4b-4c8e-9d7f-1b2a3c4d5e6f";
  redis_.Answer(1, Array({Str("id-u"), Str(republished)}));
  redis_.Answer(2, Array({}));
  redis_.Answer(3, Array({Str("id-f"), Str("id-c")}));
  // Every due id gets reconcile_one.lua in its own slot.
  ASSERT_EQ(redis_.calls.size(), 8U);
  const std::vector<std::string> due{"id-u", republished, "id-f", "id-c"};
  for (size_t i = 0; i < due.size(); ++i) {
    const auto& c = redis_.calls[4 + i];
    EXPECT_EQ(c.script, "reconcile_one");
    ASSERT_EQ(c.args.size(), 10U);  // reconcile_one.lua's documented ARGV
    EXPECT_EQ(c.args[1], due[i]);
    EXPECT_EQ(c.args[7].front(), ',');  // create_failures from the status table
    EXPECT_EQ(c.keys.at(0), redis::keys::Instance("p:", due[i]));
    EXPECT_EQ(c.keys.at(2), redis::keys::PendingOf("p:", due[i]));
  }
  redis_.Answer(4, Array({Str("undo"), Str("tok-u"), Str("3")}));
  redis_.Answer(5, Array({Str("republish"), Str("stop"), Int(7), Str("req-r"), Int(2)}));
  redis_.Answer(6, Array({Str("failed")}));
  redis_.Answer(7, Array({Str("undo"), Str("tok-c"), Str("1")}));
  ASSERT_EQ(redis_.calls.size(), 10U);
  EXPECT_EQ(redis_.calls[8].script, "undo_admission");
  EXPECT_EQ(redis_.calls[8].args[1], "tok-u");
  EXPECT_EQ(std::vector<std::string>(redis_.calls[8].args.end() - 2, redis_.calls[8].args.end()),
            (std::vector<std::string>{"id-u", "3"}));
  ASSERT_EQ(publisher_.bodies.size(), 1U);
  auto cmd = domain::ParseCommand(publisher_.bodies[0]);
  ASSERT_TRUE(cmd.ok());
  EXPECT_EQ(cmd->instance_id, republished);
  EXPECT_EQ(cmd->action, domain::Action::kStop);
  EXPECT_EQ(cmd->gen, 7);
  EXPECT_EQ(cmd->request_id, "req-r");
  EXPECT_EQ(cmd->attempt, 2);
  redis_.Answer(8, Array({Str("undone")}));
  // An undone create names its tenant index entries, in another slot: they go too.
  redis_.Answer(9, Array({Array({Str("undone"), Str("t1"), Str("5")})}));
  ASSERT_EQ(redis_.calls.size(), 13U);
  EXPECT_EQ(redis_.calls[10].args,
            (std::vector<std::string>{"ZREM", redis::keys::TenantIds("p:", "t1"), "id-c"}));
  EXPECT_EQ(redis_.calls[11].args,
            (std::vector<std::string>{"ZREM", redis::keys::TenantLive("p:", "t1"), "id-c"}));
  EXPECT_EQ(redis_.calls[12].args,
            (std::vector<std::string>{"HDEL", redis::keys::SeqMap("p:"), "5"}));
  EXPECT_EQ(reconciler_->counters().failed, 1U);
  EXPECT_EQ(reconciler_->counters().republished, 1U);
  EXPECT_EQ(reconciler_->counters().undone, 2U);
}

TEST_F(ReconcilerTest, AnotherWorkersLeaseMeansNothingToDo) {
  RunUntilCalls(1);
  redis_.Answer(0, Int(0));
  EXPECT_EQ(redis_.calls.size(), 1U);
  EXPECT_TRUE(publisher_.bodies.empty());
}

TEST_F(ReconcilerTest, NoPassWhileTheBrokerIsAway) {
  publisher_.up = false;
  for (int i = 0; i < 20; ++i) uv_run(&loop_, UV_RUN_ONCE);
  reconciler_->Stop();
  EXPECT_TRUE(redis_.calls.empty());
}

}  // namespace
}  // namespace lambda::worker

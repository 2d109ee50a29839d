// The reconciler's pass against a fake Redis (scripts answered by name) and a fake publisher.
#include "reconciler/reconciler.h"

#include <gtest/gtest.h>

#include "lambda/domain/command.h"
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
    std::string script;
    std::vector<std::string> args;
    redis::Callback done;
  };
  bool connected() const override { return true; }
  void Command(const std::vector<std::string>& /*argv*/, redis::Callback cb) override {
    cb(Error{Code::kUnavailable, "not in this test"});
  }
  void EvalSha(const redis::Script& script, const std::vector<std::string>& /*keys*/,
               std::vector<std::string> args, redis::Callback cb) override {
    calls.push_back({std::string(script.name), std::move(args), std::move(cb)});
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

TEST_F(ReconcilerTest, APassUndoesTheUnconfirmedAndRepublishesTheRest) {
  RunUntilCalls(1);
  ASSERT_EQ(redis_.calls[0].script, "reconcile");
  const auto& args = redis_.calls[0].args;
  ASSERT_EQ(args.size(), 12U);  // reconcile.lua's documented ARGV
  EXPECT_EQ(args[0], "p:");
  EXPECT_EQ(args[9], "w1");
  EXPECT_EQ(args[6].front(), ',');  // create_failures from the status table
  // {n_failed, n_undo, undo (id, token, gen)..., republish (id, action, gen, request, attempt)...}
  redis_.Answer(0, Array({Int(2), Int(1), Str("id-u"), Str("tok-u"), Str("3"),
                          Str("6f1c2d9e-0a4b-4c8e-9d7f-1b2a3c4d5e6f"), Str("stop"), Int(7),
                          Str("req-r"), Int(2)}));
  ASSERT_EQ(redis_.calls.size(), 2U);
  EXPECT_EQ(redis_.calls[1].script, "undo_admission");
  EXPECT_EQ(redis_.calls[1].args[1], "tok-u");
  EXPECT_EQ(std::vector<std::string>(redis_.calls[1].args.end() - 2, redis_.calls[1].args.end()),
            (std::vector<std::string>{"id-u", "3"}));
  ASSERT_EQ(publisher_.bodies.size(), 1U);
  auto cmd = domain::ParseCommand(publisher_.bodies[0]);
  ASSERT_TRUE(cmd.ok());
  EXPECT_EQ(cmd->instance_id, "6f1c2d9e-0a4b-4c8e-9d7f-1b2a3c4d5e6f");
  EXPECT_EQ(cmd->action, domain::Action::kStop);
  EXPECT_EQ(cmd->gen, 7);
  EXPECT_EQ(cmd->request_id, "req-r");
  EXPECT_EQ(cmd->attempt, 2);
  redis_.Answer(1, Array({Str("undone")}));
  EXPECT_EQ(reconciler_->counters().failed, 2U);
  EXPECT_EQ(reconciler_->counters().republished, 1U);
  EXPECT_EQ(reconciler_->counters().undone, 1U);
}

TEST_F(ReconcilerTest, AnotherWorkersLeaseMeansNothingToDo) {
  RunUntilCalls(1);
  redis_.Answer(0, Array({Int(-1)}));
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

// A job's plan against a fake Redis (scripts answered by name, on the next loop turn as a real
// client would) and the sim provider with no latency: fenced status writes, the final write,
// superseded and Redis-down endings.
#include "executor/job.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>

#include "lambda/uv/handle.h"
#include "providers/sim/sim_provider.h"
#include "redis_values.h"

namespace lambda::worker {
namespace {

using testing::Array;
using testing::Int;
using testing::Str;

class FakeRedis : public redis::Client {
 public:
  using Answer = std::function<Result<redis::Value>(const std::vector<std::string>&)>;
  explicit FakeRedis(uv_loop_t* loop) : tick_(loop) {}
  bool connected() const override { return true; }
  void Command(const std::vector<std::string>& argv, redis::Callback cb) override {
    commands.push_back(argv);
    order.push_back(argv.at(0));
    Later([cb = std::move(cb)] { cb(Str("ok")); });
  }
  void EvalSha(const redis::Script& script, const std::vector<std::string>& /*keys*/,
               std::vector<std::string> args, redis::Callback cb) override {
    std::string name(script.name);
    calls.emplace_back(name, args);
    order.push_back(name);
    auto it = answers.find(name);
    Result<redis::Value> reply =
        it != answers.end() ? it->second(args) : Result<redis::Value>(Str("ok"));
    Later([cb = std::move(cb), reply = std::move(reply)] { cb(reply); });
  }
  /// Status codes written by write_status.lua, with their final flag.
  std::vector<std::pair<std::string, std::string>> Writes() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [name, args] : calls) {
      if (name == "write_status") out.emplace_back(args.at(4), args.at(7));
    }
    return out;
  }
  std::map<std::string, Answer> answers;
  std::vector<std::pair<std::string, std::vector<std::string>>> calls;
  std::vector<std::vector<std::string>> commands;
  std::vector<std::string> order;  ///< command names and script names, as they were sent

 private:
  void Later(std::function<void()> fn) {
    queue_.push_back(std::move(fn));
    tick_.Start(0, 0, [this] {
      auto now = std::exchange(queue_, {});
      for (auto& f : now) f();
    });
  }
  uv::Timer tick_;
  std::deque<std::function<void()>> queue_;
};

const char* kInfo =
    R"({"instance_name":"n","master_name":"n-master","slaves":1,"vcpus_master":2,"vcpus_slave":2,)"
    R"("ram_master":2048,"ram_slave":2048,"disk_master":10,"disk_slave":10,)"
    R"("ip_allocation":"master","network_request":1,"project_name":"p"})";
const char* kId = "9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c";

class JobTest : public ::testing::Test {
 protected:
  JobTest() {
    uv_loop_init(&loop_);
    redis_ = std::make_unique<FakeRedis>(&loop_);
    redis_->answers["renew_lease"] = [](const std::vector<std::string>&) {
      return Result<redis::Value>(Int(1));  // still our command, lease held
    };
    sim_ = std::make_unique<SimProvider>(&loop_, SimConfig{0, 0, 1, 0.0});
    ledger_ = std::make_unique<Ledger>(redis_.get(), "p:", 100);
    ctx_ = std::make_unique<JobContext>(JobContext{&loop_, redis_.get(), sim_.get(), ledger_.get(),
                                                   "p:", "w1", 3000, 100, 3, 10, 100});
  }
  ~JobTest() override {
    ctx_.reset();
    ledger_.reset();
    sim_.reset();
    redis_.reset();
    EXPECT_TRUE(uv::DrainAndClose(&loop_));
  }

  static std::string Server(const std::string& role, int n) {
    std::string name = std::string("lambda-") + kId + "-" + role;
    if (role == "slave") name += "-" + std::to_string(n);
    return R"({"id":"s-)" + std::to_string(n) + R"(","name":")" + name + R"(","role":")" + role +
           R"(","status":"SHUTOFF","private_ip":"10.0.0.)" + std::to_string(n + 2) +
           R"(","public_ip":null})";
  }
  /// Runs a start of a STOPPED instance to its end; the outcome.
  std::optional<JobOutcome> RunStart(std::string servers = "[" + Server("master", 0) + "]") {
    domain::Command cmd;
    cmd.request_id = "req";
    cmd.instance_id = kId;
    cmd.action = domain::Action::kStart;
    cmd.gen = 5;
    Claim claim{domain::InstanceStatus::kStopped, kInfo, servers, "n", "running"};
    std::optional<JobOutcome> outcome;
    auto job = std::make_shared<Job>(*ctx_, cmd, claim,
                                     [&](JobOutcome o, const TransientRetry&) { outcome = o; });
    job->Run();
    job.reset();  // the job keeps itself alive through its callbacks
    for (int i = 0; i < 2000 && !outcome; ++i) uv_run(&loop_, UV_RUN_ONCE);
    return outcome;
  }

  uv_loop_t loop_;
  std::unique_ptr<FakeRedis> redis_;
  std::unique_ptr<SimProvider> sim_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<JobContext> ctx_;
};

TEST_F(JobTest, AStartWritesItsFinalStatusFencedByGenAndLeaseThenCompletes) {
  auto outcome = RunStart();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(*outcome, JobOutcome::kCompleted);
  auto writes = redis_->Writes();
  ASSERT_FALSE(writes.empty());
  EXPECT_EQ(writes.back(), (std::pair<std::string, std::string>{"0", "1"}));  // STARTED, final
  for (const auto& [name, args] : redis_->calls) {
    if (name != "write_status") continue;
    EXPECT_EQ(args.at(2), "5");   // fenced by the command's gen
    EXPECT_EQ(args.at(3), "w1");  // and by this worker's lease
  }
  EXPECT_FALSE(redis_->commands.empty());  // the operations ledger heard the provider
}

TEST_F(JobTest, AStepsOperationsGoToTheLedgerAsOneAppendAheadOfItsStatusWrite) {
  ASSERT_EQ(RunStart("[" + Server("master", 0) + "," + Server("slave", 1) + "]"),
            JobOutcome::kCompleted);
  std::vector<std::vector<std::string>> appends;
  for (const auto& c : redis_->commands) {
    if (c.at(0) == "XADD") appends.push_back(c);
  }
  ASSERT_EQ(appends.size(), 1U);  // both VMs' starts in one stream entry
  const auto& a = appends[0];
  EXPECT_EQ(a.at(1), std::string("p:ops:") + kId);
  std::vector<std::string> ops;
  for (size_t i = 6; i + 1 < a.size(); i += 2) {
    if (a[i] == "request_id") {
      EXPECT_EQ(a[i + 1], "req");
    } else if (a[i] == "target") {
      ops.push_back(a[i + 1]);
    }
  }
  EXPECT_EQ(ops, (std::vector<std::string>{std::string("lambda-") + kId + "-master",
                                           std::string("lambda-") + kId + "-slave-1"}));
  // The operations are in the ledger before the status they led to.
  auto xadd = std::find(redis_->order.begin(), redis_->order.end(), "XADD");
  auto write = std::find(redis_->order.begin(), redis_->order.end(), "write_status");
  EXPECT_LT(xadd - redis_->order.begin(), write - redis_->order.begin());
}

TEST_F(JobTest, ALedgerBatchGoesOutByItselfAfterItsWindow) {
  Operation op{"req", 5, "w1", nullptr};
  {
    LedgerBatch batch(&loop_, ledger_.get(), kId, &op, 20);
    batch.Add({"create_vm", "vm-a", "created", "id-a"});
    for (int i = 0; i < 200 && redis_->commands.empty(); ++i) uv_run(&loop_, UV_RUN_ONCE);
    ASSERT_EQ(redis_->commands.size(), 1U);  // no status write, no Flush: the window did it
    batch.Add({"create_vm", "vm-b", "created", "id-b"});
  }  // the rest goes out when its owner (the job) ends
  ASSERT_EQ(redis_->commands.size(), 2U);
  EXPECT_NE(std::find(redis_->commands[1].begin(), redis_->commands[1].end(), "vm-b"),
            redis_->commands[1].end());
}

TEST_F(JobTest, AStaleWriteEndsTheJobAsSuperseded) {
  redis_->answers["write_status"] = [](const std::vector<std::string>&) {
    return Result<redis::Value>(Str("stale"));
  };
  EXPECT_EQ(RunStart(), JobOutcome::kSuperseded);
  EXPECT_EQ(redis_->Writes().size(), 1U);  // nothing after the fence
}

TEST_F(JobTest, RedisDownThroughTheWriteRetriesHandsTheCommandToTheRetryQueue) {
  redis_->answers["write_status"] = [](const std::vector<std::string>&) {
    return Result<redis::Value>(Error{Code::kUnavailable, "redis is not connected"});
  };
  EXPECT_EQ(RunStart(), JobOutcome::kRedisUnavailable);
  EXPECT_EQ(redis_->Writes().size(), 5U);  // five tries with a back-off, then the retry queue
}

TEST_F(JobTest, ALostLeaseAtTheFirstRenewalSupersedesTheJob) {
  redis_->answers["renew_lease"] = [](const std::vector<std::string>&) {
    return Result<redis::Value>(Int(0));
  };
  // The step outlasts a third of the lease, so the next one asks Redis first.
  sim_ = std::make_unique<SimProvider>(&loop_, SimConfig{40, 40, 1, 0.0});
  ctx_->provider = sim_.get();
  ctx_->lease_ms = 60;
  EXPECT_EQ(RunStart(), JobOutcome::kSuperseded);
  EXPECT_TRUE(redis_->Writes().empty());
}

TEST_F(JobTest, AStepRightAfterTheClaimOrAWriteNeedsNoRenewalOfItsOwn) {
  int renewals = 0;
  redis_->answers["renew_lease"] = [&](const std::vector<std::string>&) {
    ++renewals;
    return Result<redis::Value>(Int(1));
  };
  EXPECT_EQ(RunStart(), JobOutcome::kCompleted);  // two steps of ~0 ms within a 3 s lease
  EXPECT_EQ(renewals, 0);
  // The start changed the servers (SHUTOFF -> ACTIVE): the write carries them and the master.
  int writes = 0;
  for (const auto& [name, args] : redis_->calls) {
    if (name != "write_status") continue;
    ++writes;
    EXPECT_NE(args.at(6).find("ACTIVE"), std::string::npos) << args.at(6);
    EXPECT_EQ(args.at(12), "s-0");
  }
  EXPECT_EQ(writes, 1);
}

}  // namespace
}  // namespace lambda::worker

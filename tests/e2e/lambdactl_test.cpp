// End to end: lambdactl's client verbs (SPEC §7) against the real stack: ids, progress, waits on
// the event stream, and every exit code.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "lambda/redis/keys.h"
#include "support.h"

namespace lambda {
namespace {

using std::chrono::seconds;
using testing::EnvOr;
using testing::Stack;

struct CtlRun {
  int rc = -1;
  std::string out;
  std::string err;
};

class Lambdactl : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack(Stack::Options{});
    key_ = stack_->NewKey("acme");
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  /// Runs lambdactl with `args`; `env` is prepended (e.g. "LAMBDA_URL=… ").
  static CtlRun Ctl(const std::string& args, const std::string& env = "") {
    std::string err_file = stack_->logs_dir() + "/ctl.err";
    std::string base = env.empty() ? "env -u LAMBDA_STATE_DIR LAMBDA_URL=" + stack_->url() +
                                         " LAMBDA_API_KEY=" + key_ + " "
                                   : "env -u LAMBDA_URL -u LAMBDA_API_KEY " + env + " ";
    std::string cmd = base + EnvOr("LAMBDA_CTL_BIN") + " " + args + " 2>" + err_file;
    CtlRun r;
    auto run = testing::RunCommand(cmd);
    r.rc = run.rc;
    r.out = run.out;
    std::ifstream f(err_file);
    std::stringstream ss;
    ss << f.rdbuf();
    r.err = ss.str();
    return r;
  }
  static std::string Trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  static Stack* stack_;
  static std::string key_;
};
Stack* Lambdactl::stack_ = nullptr;
std::string Lambdactl::key_;

TEST_F(Lambdactl, CreateWaitPrintsTheIdShowsTheStepsAndExits0AtStarted) {
  auto r = Ctl("create --name demo --slaves 1 --wait --timeout 60");
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  std::string id = Trimmed(r.out);
  EXPECT_EQ(id.size(), 36u) << r.out;
  EXPECT_EQ(stack_->StatusOf(id), "STARTED");
  // Piped, progress is one plain line per step, on stderr.
  for (const char* step : {"1/8 PENDING", "4/8 COMMONS_INSTALLED", "8/8 STARTED"}) {
    EXPECT_NE(r.err.find(step), std::string::npos) << r.err;
  }
  EXPECT_EQ(r.err.find('\r'), std::string::npos);
  auto status = Ctl("status " + id);
  EXPECT_EQ(status.rc, 0);
  EXPECT_EQ(Trimmed(status.out), "STARTED");
  auto list = Ctl("list --limit 100");
  EXPECT_NE(list.out.find(id + "\tdemo\tSTARTED"), std::string::npos) << list.out;
}

TEST_F(Lambdactl, OnATerminalTheProgressIsOneUpdatingLine) {
  // script(1) gives lambdactl a pseudo-terminal (stdout and stderr both on it).
  std::string cmd = "script -qec \"env -u LAMBDA_STATE_DIR LAMBDA_URL=" + stack_->url() +
                    " LAMBDA_API_KEY=" + key_ + " " + EnvOr("LAMBDA_CTL_BIN") +
                    " create --name tty --wait\" /dev/null";
  auto run = testing::RunCommand(cmd);
  EXPECT_EQ(run.rc, 0) << run.out;
  EXPECT_NE(run.out.find("\r\x1b[K[########] 8/8 STARTED"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\r\x1b[K[#-------] 1/8 PENDING"), std::string::npos) << run.out;
}

TEST_F(Lambdactl, StopStartDestroyWaitAndARefusalPrintsTheServersText) {
  auto created = Ctl("create --name cycle --wait");
  ASSERT_EQ(created.rc, 0) << created.err;
  std::string id = Trimmed(created.out);
  EXPECT_EQ(Ctl("stop " + id + " --wait").rc, 0);
  EXPECT_EQ(stack_->StatusOf(id), "STOPPED");
  auto again = Ctl("stop " + id);
  EXPECT_EQ(again.rc, 4);
  EXPECT_NE(again.err.find("The specified lambda instance is already stopped."), std::string::npos)
      << again.err;
  EXPECT_EQ(Ctl("start " + id + " --wait").rc, 0);
  auto events = Ctl("events " + id);
  EXPECT_EQ(events.rc, 0);
  for (const char* s : {"PENDING", "STOPPING", "STOPPED", "STARTING"}) {
    EXPECT_NE(events.out.find(s), std::string::npos) << events.out;
  }
  auto watch = Ctl("watch " + id);  // settled already: one line, 0
  EXPECT_EQ(watch.rc, 0);
  EXPECT_NE(watch.out.find("STARTED"), std::string::npos);
  EXPECT_EQ(Ctl("destroy " + id + " --wait").rc, 0);
  EXPECT_EQ(stack_->StatusOf(id), "DESTROYED");
}

TEST_F(Lambdactl, CancelWaitFollowsTheRollbackAndASettledOneIsRefused) {
  std::string spec = stack_->logs_dir() + "/cancel-spec.json";
  std::ofstream(spec) << testing::CreateBody("undo", R"("simulate":{"step_ms":500})");
  auto created = Ctl("create -f " + spec);
  ASSERT_EQ(created.rc, 0) << created.err;
  std::string id = Trimmed(created.out);
  auto cancel = Ctl("cancel " + id + " --wait --timeout 30");
  EXPECT_EQ(cancel.rc, 0) << cancel.err;
  EXPECT_EQ(stack_->StatusOf(id), "DESTROYED");
  auto again = Ctl("cancel " + id);
  EXPECT_EQ(again.rc, 4);
  EXPECT_NE(again.err.find("Can't cancel a lambda instance while lambda instance status is "
                           "DESTROYED."),
            std::string::npos)
      << again.err;
}

TEST_F(Lambdactl, AFailedBuildExits1WithItsMessageAndASlowOneTimesOutWith3) {
  std::string spec = stack_->logs_dir() + "/spec.json";
  std::ofstream(spec) << testing::CreateBody("doomed", R"("simulate":{"fail_at":"HADOOP"})");
  auto failed = Ctl("create -f " + spec + " --wait");
  EXPECT_EQ(failed.rc, 1) << failed.err;
  EXPECT_NE(failed.err.find("HADOOP_FAILED"), std::string::npos) << failed.err;
  // The step and an error id: the provider's own words stay with the operator.
  EXPECT_NE(failed.err.find("Step INSTALL HADOOP failed (error id "), std::string::npos)
      << failed.err;
  std::ofstream(spec, std::ios::trunc)
      << testing::CreateBody("slow", R"("simulate":{"step_ms":1000})");
  auto slow = Ctl("create -f " + spec + " --wait --timeout 1");
  EXPECT_EQ(slow.rc, 3) << slow.err;
  EXPECT_NE(slow.err.find("timed out"), std::string::npos) << slow.err;
  auto json = Ctl("watch " + Trimmed(slow.out) + " --json --timeout 60");
  EXPECT_EQ(json.rc, 0) << json.err;
  EXPECT_NE(json.out.find(R"("message":"STARTED")"), std::string::npos) << json.out;
}

TEST_F(Lambdactl, UsageUnreachableAndTheStateFile) {
  EXPECT_EQ(Ctl("frobnicate").rc, 2);
  EXPECT_EQ(Ctl("start").rc, 2);
  EXPECT_EQ(Ctl("create").rc, 2);  // no --name
  EXPECT_EQ(Ctl("create --name x --slaves many").rc, 2);
  EXPECT_EQ(Ctl("create --name x --wait --timeout -4").rc, 2);
  EXPECT_EQ(Ctl("status x", "LAMBDA_STATE_DIR=/nonexistent").rc, 2);  // no server configured
  auto down = Ctl("status 9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c",
                  "LAMBDA_URL=http://127.0.0.1:1 LAMBDA_API_KEY=k");
  EXPECT_EQ(down.rc, 5);
  EXPECT_NE(down.err.find("unreachable"), std::string::npos) << down.err;
  auto missing = Ctl("status 9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c");
  EXPECT_EQ(missing.rc, 4);
  EXPECT_NE(missing.err.find("doesn't exist"), std::string::npos);
  // Settings from $LAMBDA_STATE_DIR/env, as scripts/up writes it.
  std::string dir = stack_->logs_dir() + "/state";
  ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
  std::ofstream(dir + "/env") << "LAMBDA_URL=" << stack_->url() << "\nLAMBDA_API_KEY=" << key_
                              << "\nLAMBDA_REDIS_URL=redis://127.0.0.1:1/0\n";
  auto from_file = Ctl("list", "LAMBDA_STATE_DIR=" + dir);
  EXPECT_EQ(from_file.rc, 0) << from_file.err;
}

TEST_F(Lambdactl, MigrateKeysTakesAStoreOfTheOldLayoutIntoTheNewOne) {
  // Two instances of tenant "mig" made the usual way, then put back into the layout of the
  // versions before hash tags (what an upgraded deployment finds in its Redis).
  const std::string p = stack_->redis_prefix();
  auto ids = stack_->Seed(2, "STOPPED", "mig");
  ASSERT_EQ(ids.size(), 2U);
  auto& r = stack_->redis();
  for (const auto& id : ids) {
    r.Cmd({"RENAME", redis::keys::Instance(p, id), p + "i:" + id});
    r.Cmd({"RENAME", redis::keys::History(p, id), p + "h:" + id});
    r.Cmd({"SADD", p + "t:mig:live", id});
  }
  r.Cmd({"RENAME", redis::keys::TenantIds(p, "mig"), p + "t:mig:ids"});
  r.Cmd({"DEL", redis::keys::TenantLive(p, "mig")});
  r.Cmd({"ZADD", p + "pending", "12345", ids[0]});  // an admission left pending
  // A lease still running, in its own key as before; and one of the tagged layout, run out.
  r.Cmd({"SET", p + "lease:" + ids[1], "w-old", "PX", "600000"});
  r.Cmd({"SET", p + "lease:{" + ids[0] + "}", "w-gone", "PX", "600000"});
  r.Cmd({"PEXPIRE", p + "lease:{" + ids[0] + "}", "1"});
  const std::string mig_key = stack_->NewKey("mig");
  auto status = [&](const std::string& id) {
    return testing::Http("GET", stack_->url() + "/api/lambda-instances/" + id + "/status/",
                         {"X-API-Key: " + mig_key})
        .status;
  };
  ASSERT_EQ(status(ids[0]), 404);  // the new binaries do not read the old layout

  auto run = testing::RunCommand("env -u LAMBDA_REDIS_URL " + EnvOr("LAMBDA_CTL_BIN") +
                                 " migrate-keys --redis-url " + EnvOr("LAMBDA_TEST_REDIS_URL") +
                                 " --redis-prefix " + p);
  ASSERT_EQ(run.rc, 0) << run.out;
  EXPECT_NE(run.out.find("migrated 2 instances, 1 pending admissions, 1 tenants"),
            std::string::npos)
      << run.out;
  for (const auto& id : ids) {
    EXPECT_EQ(status(id), 200) << id;
    EXPECT_EQ(r.Int({"EXISTS", p + "i:" + id}), 0);
    EXPECT_GT(r.Int({"XLEN", redis::keys::History(p, id)}), 0);
  }
  EXPECT_EQ(r.Cmd({"ZSCORE", redis::keys::PendingOf(p, ids[0]), ids[0]}), "12345");
  EXPECT_EQ(r.Int({"EXISTS", p + "pending"}), 0);
  EXPECT_EQ(r.Cmd({"HGET", redis::keys::Instance(p, ids[1]), "lease_by"}), "w-old");
  EXPECT_GT(std::stoll(r.Cmd({"HGET", redis::keys::Instance(p, ids[1]), "lease_until"})), 0);
  EXPECT_EQ(r.Int({"EXISTS", p + "lease:" + ids[1]}), 0);
  EXPECT_EQ(r.Cmd({"HGET", redis::keys::Instance(p, ids[0]), "lease_by"}), "");  // it ran out
  EXPECT_EQ(r.Int({"ZCARD", redis::keys::TenantLive(p, "mig")}), 2);  // a ZSET by seq now
  EXPECT_EQ(r.Int({"ZCARD", redis::keys::TenantIds(p, "mig")}), 2);
  auto list =
      testing::Http("GET", stack_->url() + "/api/lambda-instances/", {"X-API-Key: " + mig_key});
  EXPECT_NE(list.body.find(ids[1]), std::string::npos) << list.body;
  // Again: nothing left to move, nothing harmed.
  auto again = testing::RunCommand(EnvOr("LAMBDA_CTL_BIN") + " migrate-keys --redis-url " +
                                   EnvOr("LAMBDA_TEST_REDIS_URL") + " --redis-prefix " + p);
  EXPECT_NE(again.out.find("migrated 0 instances, 0 pending admissions, 0 tenants"),
            std::string::npos)
      << again.out;
  EXPECT_EQ(status(ids[1]), 200);
  r.Cmd({"ZREM", redis::keys::PendingOf(p, ids[0]), ids[0]});  // not the reconciler's to chase
}

}  // namespace
}  // namespace lambda

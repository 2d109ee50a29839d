// Every Lua script of common/lua/, called directly against a real redis-server: stale gen,
// double claim, lease fencing, undo after a generation change, the outbox.
#include <gtest/gtest.h>

#include "lambda/domain/status.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"
#include "support.h"

namespace lambda {
namespace {

using testing::SyncRedis;

class LuaScripts : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = std::make_unique<SyncRedis>(testing::EnvOr("LAMBDA_TEST_REDIS_URL"));
    prefix_ = testing::UniquePrefix("lua") + ":";
  }

  std::vector<std::string> Eval(const redis::Script& s, std::vector<std::string> args) {
    std::vector<std::string> argv{"EVAL", std::string(s.body), "0"};
    argv.insert(argv.end(), args.begin(), args.end());
    return redis_->Array(argv);
  }
  std::string Allowed(domain::Action a) {
    std::string set = ",";
    for (auto s : domain::AllowedFrom(a)) set += std::to_string(domain::CodeOf(s)) + ",";
    return set;
  }
  std::string Create(const std::string& tenant = "t1") {
    std::string id = util::NewUuid();
    auto r = Eval(
        redis::scripts::AdmitCreate(),
        redis::args::AdmitCreate{prefix_, id, tenant, "name", "{}", "req-c", 1, "now", 100, "tok-c"}
            .Argv());
    EXPECT_EQ(r.at(0), "ok");
    return id;
  }
  std::vector<std::string> Admit(const std::string& id, domain::Action a,
                                 const std::string& tenant = "t1", const std::string& token = "tok",
                                 const std::string& now = "2") {
    return Eval(redis::scripts::Admit(),
                redis::args::Admit{prefix_, id, tenant, std::string(domain::ActionName(a)),
                                   domain::CodeOf(domain::TransitionalStatus(a)), Allowed(a), "req",
                                   std::stoll(now), "now", 100, "", token}
                    .Argv());
  }
  /// undo_admission.lua for one (id, gen) under `token`: undone, confirmed or absent.
  std::string Undo(const std::string& token, const std::string& id, const std::string& gen) {
    return Eval(redis::scripts::UndoAdmission(),
                redis::args::UndoAdmission{
                    prefix_, token, 5, "now", 100, "admission undone", {{id, gen}}}
                    .Argv())
        .at(0);
  }
  std::vector<std::string> Reconcile(int64_t now, int64_t unconfirmed_after_ms) {
    return Eval(redis::scripts::Reconcile(),
                redis::args::Reconcile{prefix_, now, "now", 1000, 3600000, 3600000, ",", 100, 100,
                                       "rec-w", 5000, static_cast<uint64_t>(unconfirmed_after_ms)}
                    .Argv());
  }
  std::string Field(const std::string& id, const std::string& f) {
    return redis_->Cmd({"HGET", prefix_ + "i:" + id, f});
  }
  void SetStatus(const std::string& id, domain::InstanceStatus s) {
    redis_->Cmd({"HSET", prefix_ + "i:" + id, "status", std::to_string(domain::CodeOf(s))});
  }
  std::vector<std::string> Claim(const std::string& id, const std::string& gen,
                                 const std::string& worker) {
    return Eval(redis::scripts::Claim(),
                redis::args::Claim{prefix_, id, std::stoll(gen), worker, 10000}.Argv());
  }
  std::string Write(const std::string& id, const std::string& gen, const std::string& worker,
                    domain::InstanceStatus s, bool final) {
    return Eval(redis::scripts::WriteStatus(),
                redis::args::WriteStatus{prefix_, id, std::stoll(gen), worker, domain::CodeOf(s),
                                         "", "", final, 3, "now", "req", 10000, "", 100}
                    .Argv())
        .at(0);
  }

  std::unique_ptr<SyncRedis> redis_;
  std::string prefix_;
};

TEST_F(LuaScripts, CreateRecordsInstanceOutboxIndexesAndHistory) {
  std::string id = Create();
  EXPECT_EQ(Field(id, "status"), "2");
  EXPECT_EQ(Field(id, "gen"), "1");
  EXPECT_EQ(Field(id, "p_action"), "create");
  EXPECT_EQ(Field(id, "p_gen"), "1");
  EXPECT_EQ(Field(id, "owner"), "t1");
  EXPECT_EQ(redis_->Int({"ZCARD", prefix_ + "t:t1:ids"}), 1);
  EXPECT_EQ(redis_->Int({"SCARD", prefix_ + "t:t1:live"}), 1);
  EXPECT_EQ(redis_->Int({"XLEN", prefix_ + "h:" + id}), 1);
  std::string second = Create();
  EXPECT_EQ(std::stoi(Field(second, "seq")), std::stoi(Field(id, "seq")) + 1);
}

TEST_F(LuaScripts, AdmitChecksTenantGuardAndBumpsGen) {
  std::string id = Create();
  EXPECT_EQ(Admit(id, domain::Action::kStart, "other").at(0), "notfound");
  EXPECT_EQ(Admit(util::NewUuid(), domain::Action::kStart).at(0), "notfound");
  auto refused = Admit(id, domain::Action::kStart);  // PENDING → refused, nothing changes
  ASSERT_EQ(refused.at(0), "refused");
  EXPECT_EQ(refused.at(1), "2");
  EXPECT_EQ(Field(id, "gen"), "1");
  SetStatus(id, domain::InstanceStatus::kStopped);
  auto ok = Admit(id, domain::Action::kStart);
  ASSERT_EQ(ok.at(0), "ok");
  EXPECT_EQ(ok.at(1), "2");  // gen
  EXPECT_EQ(ok.at(2), "1");  // previous status
  EXPECT_EQ(Field(id, "status"), "3");
  EXPECT_EQ(Field(id, "p_action"), "start");
  EXPECT_EQ(Field(id, "p_prev"), "1");
  EXPECT_EQ(Admit(id, domain::Action::kStart).at(0), "refused");  // STARTING now
}

TEST_F(LuaScripts, EveryStatusAgreesWithTheDomainTable) {
  std::string id = Create();
  for (auto a : {domain::Action::kStart, domain::Action::kStop, domain::Action::kDestroy}) {
    for (int c = 0; c < domain::kStatusCount; ++c) {
      auto s = static_cast<domain::InstanceStatus>(c);
      SetStatus(id, s);
      bool admitted = Admit(id, a).at(0) == "ok";
      EXPECT_EQ(admitted, domain::Admit(a, s).outcome == domain::AdmitOutcome::kAdmitted)
          << domain::ActionName(a) << " from " << domain::Info(s).name;
    }
  }
}

TEST_F(LuaScripts, ClaimFencesStaleGenAndDoubleClaim) {
  std::string id = Create();
  EXPECT_EQ(Claim(id, "2", "w1").at(0), "stale");
  EXPECT_EQ(Claim(util::NewUuid(), "1", "w1").at(0), "gone");
  auto ok = Claim(id, "1", "w1");
  ASSERT_EQ(ok.at(0), "ok");
  EXPECT_EQ(ok.at(1), "2");                     // PENDING
  EXPECT_EQ(ok.at(2), "{}");                    // info
  EXPECT_EQ(Claim(id, "1", "w1").at(0), "ok");  // the holder may claim again (redelivery to itself)
  auto busy = Claim(id, "1", "w2");
  EXPECT_EQ(busy.at(0), "busy");
  EXPECT_EQ(busy.at(1), "w1");
}

TEST_F(LuaScripts, WriteStatusIsFencedByGenAndLeaseAndFinalClearsOutbox) {
  std::string id = Create();
  ASSERT_EQ(Claim(id, "1", "w1").at(0), "ok");
  EXPECT_EQ(Write(id, "1", "w2", domain::InstanceStatus::kClusterCreated, false), "lost");
  EXPECT_EQ(Write(id, "2", "w1", domain::InstanceStatus::kClusterCreated, false), "stale");
  EXPECT_EQ(Write(id, "1", "w1", domain::InstanceStatus::kClusterCreated, false), "ok");
  EXPECT_EQ(Field(id, "status"), "10");
  EXPECT_EQ(Field(id, "p_action"), "create");  // still pending
  EXPECT_EQ(Write(id, "1", "w1", domain::InstanceStatus::kStarted, true), "ok");
  EXPECT_EQ(Field(id, "p_action"), "");
  EXPECT_EQ(redis_->Cmd({"EXISTS", prefix_ + "lease:" + id}), "0");
  EXPECT_EQ(redis_->Int({"XLEN", prefix_ + "h:" + id}), 3);
  // A redelivered copy of the finished command is now stale at claim.
  EXPECT_EQ(Claim(id, "1", "w2").at(0), "stale");
}

TEST_F(LuaScripts, DestroyedLeavesTheCount) {
  std::string id = Create();
  SetStatus(id, domain::InstanceStatus::kStopped);
  ASSERT_EQ(Admit(id, domain::Action::kDestroy).at(0), "ok");
  ASSERT_EQ(Claim(id, "2", "w1").at(0), "ok");
  EXPECT_EQ(Write(id, "2", "w1", domain::InstanceStatus::kDestroyed, true), "ok");
  EXPECT_EQ(redis_->Int({"SCARD", prefix_ + "t:t1:live"}), 0);
  EXPECT_EQ(redis_->Int({"ZCARD", prefix_ + "t:t1:ids"}), 1);  // listed, not counted
}

TEST_F(LuaScripts, UndoRestoresOnlyItsOwnUnconfirmedAdmission) {
  std::string id = Create();
  SetStatus(id, domain::InstanceStatus::kStopped);
  redis_->Cmd({"HSET", prefix_ + "i:" + id, "p_conf", "1"});  // the create was confirmed
  ASSERT_EQ(Admit(id, domain::Action::kStart, "t1", "tok-a").at(1), "2");
  EXPECT_EQ(Field(id, "p_conf"), "0");
  EXPECT_EQ(Undo("tok-a", id, "1"), "absent");  // another gen
  EXPECT_EQ(Undo("tok-x", id, "2"), "absent");  // another admission's token: a client-chosen id
                                                // can never undo someone else's admission
  EXPECT_EQ(Undo("tok-a", id, "2"), "undone");
  EXPECT_EQ(Field(id, "status"), "1");  // STOPPED again
  EXPECT_EQ(Field(id, "gen"), "3");     // moved on: a late copy of gen 2 is stale
  EXPECT_EQ(Field(id, "p_action"), "");
  EXPECT_EQ(Field(id, "p_tok"), "");
  EXPECT_EQ(Claim(id, "2", "w1").at(0), "stale");
  EXPECT_EQ(Undo("tok-a", id, "2"), "absent");  // once only
  // A newer admission in between makes the old undo a no-op.
  ASSERT_EQ(Admit(id, domain::Action::kStart, "t1", "tok-b").at(1), "4");
  EXPECT_EQ(Undo("tok-a", id, "3"), "absent");
  EXPECT_EQ(Field(id, "status"), "3");
}

TEST_F(LuaScripts, ALostReplyIsUndoneByItsTokenWhateverItsGen) {
  // The shim lost the reply to its admission, so it never learnt the gen: '' matches the
  // admission current under its token, and nothing else.
  std::string id = Create();
  SetStatus(id, domain::InstanceStatus::kStopped);
  redis_->Cmd({"HSET", prefix_ + "i:" + id, "p_conf", "1"});
  ASSERT_EQ(Admit(id, domain::Action::kStart, "t1", "tok-lost").at(1), "2");
  EXPECT_EQ(Undo("tok-other", id, ""), "absent");
  EXPECT_EQ(Undo("tok-lost", id, ""), "undone");
  EXPECT_EQ(Field(id, "status"), "1");
  EXPECT_EQ(Undo("tok-lost", id, ""), "absent");  // once only
  EXPECT_EQ(Undo("tok-lost", "no-such-id", ""), "absent");
}

TEST_F(LuaScripts, AdmitManyIsAllOrNothing) {
  std::string a = Create(), b = Create(), other = Create("t2");
  SetStatus(a, domain::InstanceStatus::kStopped);
  SetStatus(b, domain::InstanceStatus::kStarted);
  auto admit_many = [&](std::vector<std::string> ids, const std::string& token) {
    auto action = domain::Action::kStart;
    return Eval(
        redis::scripts::AdmitMany(),
        redis::args::AdmitMany{prefix_, "t1", std::string(domain::ActionName(action)),
                               domain::CodeOf(domain::TransitionalStatus(action)), Allowed(action),
                               "req-m", 7, "now", 100, token, std::move(ids)}
            .Argv());
  };
  // b is STARTED: refused, and a is left untouched.
  EXPECT_EQ(admit_many({a, b}, "tok-m"),
            (std::vector<std::string>{
                "refused", b, std::to_string(domain::CodeOf(domain::InstanceStatus::kStarted))}));
  EXPECT_EQ(Field(a, "status"), "1");
  EXPECT_EQ(Field(a, "gen"), "1");
  // Another tenant's id reads as missing.
  EXPECT_EQ(admit_many({a, other}, "tok-m"), (std::vector<std::string>{"notfound", other}));
  SetStatus(b, domain::InstanceStatus::kStopped);
  auto ok = admit_many({a, b}, "tok-m");
  ASSERT_EQ(ok.size(), 5U);
  EXPECT_EQ(ok[0], "ok");
  EXPECT_EQ(ok[1], "2");  // a's gen
  EXPECT_EQ(ok[3], "2");  // b's gen
  for (const auto& id : {a, b}) {
    EXPECT_EQ(Field(id, "status"), "3");
    EXPECT_EQ(Field(id, "p_tok"), "tok-m");
    EXPECT_EQ(Field(id, "p_conf"), "0");
  }
  // a and b (their creates still pending too: one entry each) and the other tenant's create.
  EXPECT_EQ(redis_->Int({"ZCARD", prefix_ + "pending"}), 3);
}

TEST_F(LuaScripts, DescribePagesTheTenantsLiveInstances) {
  std::string a = Create("td"), b = Create("td"), c = Create("td"), foreign = Create("tx");
  SetStatus(b, domain::InstanceStatus::kDestroyed);
  SetStatus(c, domain::InstanceStatus::kStarted);
  auto describe = [&](int64_t offset, int64_t size, std::vector<std::string> ids) {
    return Eval(redis::scripts::Describe(),
                redis::args::Describe{prefix_, "td", offset, size, std::move(ids)}.Argv());
  };
  // Destroyed ones are left out; the total counts every live one, the page only its slice.
  EXPECT_EQ(describe(0, 10, {}), (std::vector<std::string>{"2", a, "2", c, "0"}));
  EXPECT_EQ(describe(1, 1, {}), (std::vector<std::string>{"2", c, "0"}));
  // Given ids: another tenant's and unknown ones are not there.
  EXPECT_EQ(describe(0, 10, {foreign, c, "nope"}), (std::vector<std::string>{"1", c, "0"}));
}

TEST_F(LuaScripts, AClaimedOrConfirmedAdmissionIsNeverUndone) {
  std::string id = Create();
  SetStatus(id, domain::InstanceStatus::kStopped);
  ASSERT_EQ(Admit(id, domain::Action::kStart, "t1", "tok-a").at(1), "2");
  ASSERT_EQ(Claim(id, "2", "w1").at(0), "ok");  // the command reached a worker
  EXPECT_EQ(Field(id, "p_conf"), "1");
  EXPECT_EQ(Undo("tok-a", id, "2"), "confirmed");
  EXPECT_EQ(Field(id, "status"), "3");
  // confirm.lua marks only its own admission, once.
  std::string other = Create();
  EXPECT_EQ(Eval(redis::scripts::Confirm(), {prefix_, "tok-x", other, "1"}).at(0), "superseded");
  EXPECT_EQ(Field(other, "p_conf"), "0");
  EXPECT_EQ(Eval(redis::scripts::Confirm(), {prefix_, "tok-c", other, "1"}).at(0), "confirmed");
  EXPECT_EQ(Field(other, "p_conf"), "1");
  EXPECT_EQ(Eval(redis::scripts::Confirm(), {prefix_, "tok-c", other, "1"}).at(0), "confirmed");
  EXPECT_EQ(Undo("tok-c", other, "1"), "confirmed");
}

TEST_F(LuaScripts, UndoOfCreateRemovesEverything) {
  std::string id = Create("t9");
  EXPECT_EQ(Undo("tok-c", id, "1"), "undone");
  EXPECT_EQ(redis_->Cmd({"EXISTS", prefix_ + "i:" + id}), "0");
  EXPECT_EQ(redis_->Int({"ZCARD", prefix_ + "t:t9:ids"}), 0);
  EXPECT_EQ(redis_->Int({"SCARD", prefix_ + "t:t9:live"}), 0);
}

TEST_F(LuaScripts, ReconcilerNeverRepublishesAnUnconfirmedAdmissionAndHandsItBackAtItsDeadline) {
  std::string id = Create();  // admitted at t=1, unconfirmed (its shim answered 503, or died)
  std::string confirmed = Create();
  ASSERT_EQ(Eval(redis::scripts::Confirm(), {prefix_, "tok-c", confirmed, "1"}).at(0), "confirmed");
  // Past the republish deadline, before the unconfirmed one's: only the confirmed is republished.
  auto early = Reconcile(5000, 20000);
  ASSERT_EQ(early.size(), 2u + 5);
  EXPECT_EQ(early[1], "0");
  EXPECT_EQ(early[2], confirmed);
  EXPECT_EQ(Field(id, "status"), "2");  // still PENDING, not republished
  // Past its deadline it is handed back to be undone by its token: nothing is left of it after.
  auto late = Reconcile(30000, 20000);
  ASSERT_GE(late.size(), 5u);
  EXPECT_EQ(late[1], "1");
  EXPECT_EQ(late[2], id);
  EXPECT_EQ(late[3], "tok-c");
  EXPECT_EQ(late[4], "1");
  EXPECT_EQ(Undo(late[3], late[2], late[4]), "undone");
  EXPECT_EQ(redis_->Cmd({"EXISTS", prefix_ + "i:" + id}), "0");
  EXPECT_EQ(redis_->Cmd({"EXISTS", prefix_ + "i:" + confirmed}), "1");
  // An unconfirmed start goes back to where it was; a shim confirming only now learns it is off.
  std::string started = Create();
  SetStatus(started, domain::InstanceStatus::kStopped);
  redis_->Cmd({"HSET", prefix_ + "i:" + started, "p_conf", "1"});
  ASSERT_EQ(Admit(started, domain::Action::kStart, "t1", "tok-s", "40000").at(0), "ok");
  auto again = Reconcile(70000, 20000);
  ASSERT_GE(again.size(), 5u);
  EXPECT_EQ(again[2], started);
  EXPECT_EQ(Undo(again[3], again[2], again[4]), "undone");
  EXPECT_EQ(Field(started, "status"), "1");
  EXPECT_EQ(Claim(started, "2", "w1").at(0), "stale");
  EXPECT_EQ(Eval(redis::scripts::Confirm(), {prefix_, "tok-s", started, "2"}).at(0), "undone");
  EXPECT_EQ(Eval(redis::scripts::Confirm(), {prefix_, "tok-c", id, "1"}).at(0), "undone");
}

TEST_F(LuaScripts, RenewLeaseTellsSuperseded) {
  std::string id = Create();
  ASSERT_EQ(Claim(id, "1", "w1").at(0), "ok");
  EXPECT_EQ(Eval(redis::scripts::RenewLease(), {prefix_, id, "w1", "1000", "1"}).at(0), "1");
  EXPECT_EQ(Eval(redis::scripts::RenewLease(), {prefix_, id, "w2", "1000", "1"}).at(0), "0");
  redis_->Cmd({"HINCRBY", prefix_ + "i:" + id, "gen", "1"});
  EXPECT_EQ(Eval(redis::scripts::RenewLease(), {prefix_, id, "w1", "1000", "1"}).at(0), "0");
}

TEST_F(LuaScripts, ReleaseForRetryGivesBackTheLeaseAndDefersTheOutbox) {
  std::string id = Create();
  ASSERT_EQ(Claim(id, "1", "w1").at(0), "ok");
  auto release = [&](const std::string& worker, const std::string& gen) {
    return Eval(redis::scripts::ReleaseForRetry(), {prefix_, id, worker, gen, "5000"}).at(0);
  };
  EXPECT_EQ(release("w2", "1"), "1");  // not w2's lease: it stays
  EXPECT_EQ(redis_->Cmd({"GET", prefix_ + "lease:" + id}), "w1");
  EXPECT_EQ(release("w1", "1"), "1");
  EXPECT_EQ(redis_->Int({"EXISTS", prefix_ + "lease:" + id}), 0);
  EXPECT_EQ(redis_->Cmd({"ZSCORE", prefix_ + "pending", id}), "5000");  // due when the retry is
  ASSERT_EQ(Claim(id, "1", "w2").at(0), "ok");               // any worker may run the retry
  redis_->Cmd({"HSET", prefix_ + "i:" + id, "p_gen", "2"});  // superseded meanwhile
  EXPECT_EQ(release("w2", "1"), "0");
  EXPECT_EQ(redis_->Int({"EXISTS", prefix_ + "lease:" + id}), 0);
}

TEST_F(LuaScripts, ListPagesInCreationOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Create("lt"));
  auto all = Eval(redis::scripts::List(), {prefix_, "lt", "0", "-1"});
  ASSERT_EQ(all.size(), 1u + 5 * 5);
  EXPECT_EQ(all[0], "5");
  EXPECT_EQ(all[1], ids[0]);
  auto page = Eval(redis::scripts::List(), {prefix_, "lt", "2", "3"});
  ASSERT_EQ(page.size(), 1u + 2 * 5);
  EXPECT_EQ(page[1], ids[2]);
  auto empty = Eval(redis::scripts::List(), {prefix_, "lt", "2", "1"});
  EXPECT_EQ(empty.size(), 1u);
}

}  // namespace
}  // namespace lambda

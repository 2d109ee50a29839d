// Every Lua script of common/lua/, called directly against a real redis-server: stale gen,
// double claim, lease fencing, undo after a generation change, the outbox.
#include <gtest/gtest.h>

#include "lambda/domain/status.h"
#include "lambda/redis/keys.h"
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

  /// The script with the KEYS and ARGV of its typed contract (script_args.h).
  template <typename ScriptArgs>
  std::vector<std::string> Eval(const redis::Script& s, const ScriptArgs& a) {
    auto keys = a.Keys();
    auto args = a.Argv();
    std::vector<std::string> argv{"EVAL", std::string(s.body), std::to_string(keys.size())};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return redis_->Array(argv);
  }
  std::string I(const std::string& id) { return redis::keys::Instance(prefix_, id); }
  std::string H(const std::string& id) { return redis::keys::History(prefix_, id); }
  std::string P(const std::string& id) { return redis::keys::PendingOf(prefix_, id); }
  std::string Confirm(const std::string& token, const std::string& id, const std::string& gen) {
    return Eval(redis::scripts::Confirm(), redis::args::Confirm{prefix_, token, {{id, gen}}}).at(0);
  }
  std::string Allowed(domain::Action a) {
    std::string set = ",";
    for (auto s : domain::AllowedFrom(a)) set += std::to_string(domain::CodeOf(s)) + ",";
    return set;
  }
  std::string Create(const std::string& tenant = "t1") {
    std::string id = util::NewUuid();
    auto r = Eval(redis::scripts::AdmitCreate(),
                  redis::args::AdmitCreate{prefix_, id, tenant, "name", "{}", "req-c", 1, "now",
                                           100, "tok-c", ++seq_});
    EXPECT_EQ(r.at(0), "ok");
    EXPECT_EQ(r.at(1), std::to_string(seq_));
    return id;
  }
  std::vector<std::string> Admit(const std::string& id, domain::Action a,
                                 const std::string& tenant = "t1", const std::string& token = "tok",
                                 const std::string& now = "2") {
    return Eval(redis::scripts::Admit(),
                redis::args::Admit{prefix_, id, tenant, std::string(domain::ActionName(a)),
                                   domain::CodeOf(domain::TransitionalStatus(a)), Allowed(a), "req",
                                   std::stoll(now), "now", 100, "", token});
  }
  /// admit_cancel.lua, with the moves of the domain table (domain::CancelTo).
  std::vector<std::string> Cancel(const std::string& id, const std::string& tenant = "t1") {
    std::string moves = ",";
    for (int c = 0; c < domain::kStatusCount; ++c) {
      if (auto to = domain::CancelTo(static_cast<domain::InstanceStatus>(c))) {
        moves += std::to_string(c) + ":" + std::to_string(domain::CodeOf(*to)) + ",";
      }
    }
    return Eval(
        redis::scripts::AdmitCancel(),
        redis::args::AdmitCancel{prefix_, id, tenant, moves, "req-x", 7, "now", 100, "tok-x"});
  }
  /// The last history entry, flattened (its id, then field and value, one a line).
  std::string LastEntry(const std::string& id) {
    return redis_->Cmd({"XREVRANGE", H(id), "+", "-", "COUNT", "1"});
  }
  /// undo_admission.lua for one (id, gen) under `token`: undone, confirmed or absent.
  std::string Undo(const std::string& token, const std::string& id, const std::string& gen) {
    return Eval(redis::scripts::UndoAdmission(),
                redis::args::UndoAdmission{
                    prefix_, token, 5, "now", 100, "admission undone", {{id, gen}}})
        .at(0);
  }
  std::vector<std::string> Reconcile(const std::string& id, int64_t now,
                                     int64_t unconfirmed_after_ms) {
    return Eval(redis::scripts::ReconcileOne(),
                redis::args::ReconcileOne{prefix_, id, now, "now", 1000, 3600000, 3600000, ",", 100,
                                          static_cast<uint64_t>(unconfirmed_after_ms)});
  }
  std::string Field(const std::string& id, const std::string& f) {
    return redis_->Cmd({"HGET", I(id), f});
  }
  void SetStatus(const std::string& id, domain::InstanceStatus s) {
    redis_->Cmd({"HSET", I(id), "status", std::to_string(domain::CodeOf(s))});
  }
  std::vector<std::string> Claim(const std::string& id, const std::string& gen,
                                 const std::string& worker) {
    return Eval(redis::scripts::Claim(),
                redis::args::Claim{prefix_, id, std::stoll(gen), worker, 10000});
  }
  std::string Write(const std::string& id, const std::string& gen, const std::string& worker,
                    domain::InstanceStatus s, bool final) {
    return Eval(redis::scripts::WriteStatus(),
                redis::args::WriteStatus{prefix_, id, std::stoll(gen), worker, domain::CodeOf(s),
                                         "", "", final, 3, "now", "req", 10000, "", 100, ""})
        .at(0);
  }

  std::unique_ptr<SyncRedis> redis_;
  std::string prefix_;
  int64_t seq_ = 0;
};

TEST_F(LuaScripts, CreateRecordsInstanceOutboxAndHistoryInItsOwnSlot) {
  std::string id = Create();
  EXPECT_EQ(Field(id, "status"), "2");
  EXPECT_EQ(Field(id, "gen"), "1");
  EXPECT_EQ(Field(id, "p_action"), "create");
  EXPECT_EQ(Field(id, "p_gen"), "1");
  EXPECT_EQ(Field(id, "owner"), "t1");
  EXPECT_EQ(Field(id, "seq"), "1");
  EXPECT_EQ(redis_->Int({"XLEN", H(id)}), 1);
  EXPECT_EQ(redis_->Cmd({"ZSCORE", P(id), id}), "1");
  // Every key the scripts touch for it hashes to one slot, and so does its outbox bucket.
  for (const auto& k : {H(id), P(id)}) {
    EXPECT_EQ(redis::keys::SlotOf(k), redis::keys::SlotOf(I(id))) << k;
  }
  // The tenant index is another slot's, written before the instance by index_create.lua.
  EXPECT_EQ(redis_->Int({"EXISTS", redis::keys::TenantIds(prefix_, "t1")}), 0);
  std::string second = Create();
  EXPECT_EQ(std::stoi(Field(second, "seq")), std::stoi(Field(id, "seq")) + 1);
  EXPECT_EQ(Eval(redis::scripts::AdmitCreate(),
                 redis::args::AdmitCreate{prefix_, id, "t1", "n", "{}", "r", 1, "now", 100, "t", 9})
                .at(0),
            "exists");
}

TEST_F(LuaScripts, IndexCreateIndexesOnceAndPageReadsASlice) {
  const std::string tenant = "ix";
  std::vector<std::string> ids;
  for (int i = 1; i <= 5; ++i) {
    ids.push_back(util::NewUuid());
    EXPECT_EQ(Eval(redis::scripts::IndexCreate(),
                   redis::args::IndexCreate{prefix_, tenant, ids.back(), i})
                  .at(0),
              "1");
  }
  // Indexed already: 0, and its seq is left as it was (the collision is not this create's).
  EXPECT_EQ(
      Eval(redis::scripts::IndexCreate(), redis::args::IndexCreate{prefix_, tenant, ids[0], 9})
          .at(0),
      "0");
  EXPECT_EQ(redis_->Cmd({"ZSCORE", redis::keys::TenantIds(prefix_, tenant), ids[0]}), "1");
  EXPECT_EQ(redis_->Int({"ZCARD", redis::keys::TenantLive(prefix_, tenant)}), 5);
  auto page = [&](bool live, int64_t start, int64_t stop) {
    return Eval(redis::scripts::Page(), redis::args::Page{prefix_, tenant, live, start, stop});
  };
  EXPECT_EQ(page(false, 0, -1),
            (std::vector<std::string>{"5", ids[0], ids[1], ids[2], ids[3], ids[4]}));
  EXPECT_EQ(page(false, 2, 3), (std::vector<std::string>{"5", ids[2], ids[3]}));
  EXPECT_EQ(page(true, 2, 1), (std::vector<std::string>{"5"}));  // empty page, still a count
  redis_->Cmd({"ZREM", redis::keys::TenantLive(prefix_, tenant), ids[1]});
  EXPECT_EQ(page(true, 0, 1), (std::vector<std::string>{"4", ids[0], ids[2]}));
}

TEST_F(LuaScripts, IndexCreateRefusesPastTheTenantsQuotaAndWritesNothing) {
  const std::string tenant = "quota";
  auto index = [&](const std::string& id, int64_t seq, int64_t max) {
    return Eval(redis::scripts::IndexCreate(),
                redis::args::IndexCreate{prefix_, tenant, id, seq, max});
  };
  EXPECT_EQ(index(util::NewUuid(), 1, 2).at(0), "1");
  EXPECT_EQ(index(util::NewUuid(), 2, 2).at(0), "1");
  const std::string third = util::NewUuid();
  EXPECT_EQ(index(third, 3, 2), (std::vector<std::string>{"quota", "2"}));
  EXPECT_EQ(redis_->Int({"ZCARD", redis::keys::TenantIds(prefix_, tenant)}), 2);
  EXPECT_EQ(redis_->Int({"ZCARD", redis::keys::TenantLive(prefix_, tenant)}), 2);
  // The tenant's own quota, stored, wins over the shim's default; -1 (a seed) is not checked.
  redis_->Cmd({"HSET", redis::keys::TenantLimits(prefix_, tenant), "max_instances", "3"});
  EXPECT_EQ(index(third, 3, 2).at(0), "1");
  EXPECT_EQ(index(util::NewUuid(), 4, 2), (std::vector<std::string>{"quota", "3"}));
  EXPECT_EQ(index(util::NewUuid(), 5, -1).at(0), "1");
  // A destroyed instance leaves the live index and gives its place back.
  redis_->Cmd({"ZREM", redis::keys::TenantLive(prefix_, tenant), third});
  redis_->Cmd({"HSET", redis::keys::TenantLimits(prefix_, tenant), "max_instances", "4"});
  EXPECT_EQ(index(util::NewUuid(), 6, 2).at(0), "1");
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

TEST_F(LuaScripts, ACancelGoesWhereTheDomainTableSaysAndOnlyFromATransition) {
  std::string id = Create();
  for (int c = 0; c < domain::kStatusCount; ++c) {
    auto s = static_cast<domain::InstanceStatus>(c);
    SetStatus(id, s);
    redis_->Cmd({"HDEL", I(id), "p_action"});
    std::string gen = Field(id, "gen");
    auto r = Cancel(id);
    auto to = domain::CancelTo(s);
    ASSERT_EQ(r.at(0), to ? "ok" : "refused") << domain::Info(s).name;
    if (!to) {
      EXPECT_EQ(r.at(1), std::to_string(c));
      EXPECT_EQ(Field(id, "gen"), gen) << "a refused cancel changed the instance";
      continue;
    }
    EXPECT_EQ(r.at(1), std::to_string(std::stoll(gen) + 1));
    EXPECT_EQ(Field(id, "status"), std::to_string(domain::CodeOf(*to)));
    EXPECT_EQ(Field(id, "p_action"), "cancel");
    EXPECT_EQ(Field(id, "p_prev"), std::to_string(c));
  }
}

TEST_F(LuaScripts, ACancelSupersedesTheRunningCommandAndItsRollbackEndsWithTheReason) {
  std::string id = Create();
  ASSERT_EQ(Claim(id, "1", "w1").at(0), "ok");
  EXPECT_EQ(Cancel(id, "other").at(0), "notfound");
  auto ok = Cancel(id);
  ASSERT_EQ(ok.at(0), "ok");
  EXPECT_EQ(ok.at(1), "2");
  EXPECT_EQ(ok.at(2), "2");  // it was PENDING
  EXPECT_EQ(Field(id, "status"),
            std::to_string(domain::CodeOf(domain::InstanceStatus::kDestroying)));
  EXPECT_NE(LastEntry(id).find("reason\ncancelled"), std::string::npos) << LastEntry(id);
  // The create's worker is fenced off; a cancel of the cancel is refused.
  EXPECT_EQ(Write(id, "1", "w1", domain::InstanceStatus::kClusterCreated, false), "stale");
  EXPECT_EQ(Cancel(id).at(0), "refused");
  ASSERT_EQ(Claim(id, "2", "w2").at(0), "ok");
  EXPECT_EQ(Write(id, "2", "w2", domain::InstanceStatus::kDestroyed, true).substr(0, 2), "ok");
  EXPECT_NE(LastEntry(id).find("reason\ncancelled"), std::string::npos) << LastEntry(id);
  // Other final writes carry no reason.
  std::string other = Create();
  ASSERT_EQ(Claim(other, "1", "w1").at(0), "ok");
  ASSERT_EQ(Write(other, "1", "w1", domain::InstanceStatus::kStarted, true), "ok");
  EXPECT_EQ(LastEntry(other).find("reason"), std::string::npos) << LastEntry(other);
}

TEST_F(LuaScripts, AnUndoneCancelMakesTheCommandItInterruptedPendingAgain) {
  // The broker did not confirm the cancel: the shim answers 503 and undoes it by its token. The
  // create's job was interrupted by the cancel's new gen already, so the create is pending again
  // (confirmed, in the outbox) and the reconciler republishes it; nothing is lost.
  std::string id = Create();
  ASSERT_EQ(Claim(id, "1", "w1").at(0), "ok");
  ASSERT_EQ(Write(id, "1", "w1", domain::InstanceStatus::kClusterCreated, false), "ok");
  ASSERT_EQ(Cancel(id).at(1), "2");
  redis_->Cmd({"HDEL", I(id), "lease_by", "lease_until"});  // the interrupted job gave it back
  EXPECT_EQ(Undo("tok-x", id, "2"), "undone");
  EXPECT_EQ(Field(id, "status"),
            std::to_string(domain::CodeOf(domain::InstanceStatus::kClusterCreated)));
  EXPECT_EQ(Field(id, "gen"), "3");
  EXPECT_EQ(Field(id, "p_action"), "create");
  EXPECT_EQ(Field(id, "p_gen"), "3");
  EXPECT_EQ(Field(id, "p_req"), "req-c");
  EXPECT_EQ(Field(id, "p_conf"), "1");
  EXPECT_EQ(Field(id, "p_tok"), "");
  EXPECT_NE(redis_->Cmd({"ZSCORE", P(id), id}), "");
  // The republished create resumes after its last step.
  auto claim = Claim(id, "3", "w2");
  ASSERT_EQ(claim.at(0), "ok");
  EXPECT_EQ(claim.at(5), "create");
  // Any other undone admission leaves nothing pending, as before.
  std::string other = Create();
  SetStatus(other, domain::InstanceStatus::kStarted);
  redis_->Cmd({"HDEL", I(other), "p_action"});
  ASSERT_EQ(Admit(other, domain::Action::kStop, "t1", "tok-s").at(0), "ok");
  EXPECT_EQ(Undo("tok-s", other, "2"), "undone");
  EXPECT_EQ(Field(other, "p_action"), "");
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
  // In Redis's clock, a lease_ms ahead.
  auto now = redis_->Array({"TIME"});
  ASSERT_EQ(now.size(), 2U);
  const long long now_ms = std::stoll(now[0]) * 1000 + std::stoll(now[1]) / 1000;
  const long long until = std::stoll(Field(id, "lease_until"));
  EXPECT_GE(until, now_ms + 10000 - 1000);
  EXPECT_LE(until, now_ms + 10000);
  // A lease that ran out is taken over by the next claim, and fences its old holder off.
  redis_->Cmd({"HSET", I(id), "lease_until", std::to_string(now_ms - 1)});
  ASSERT_EQ(Claim(id, "1", "w2").at(0), "ok");
  EXPECT_EQ(Field(id, "lease_by"), "w2");
  EXPECT_EQ(Write(id, "1", "w1", domain::InstanceStatus::kStarted, true), "lost");
  EXPECT_EQ(Write(id, "1", "w2", domain::InstanceStatus::kStarted, true), "ok");
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
  EXPECT_EQ(Field(id, "lease_by"), "");  // the lease released with it
  EXPECT_EQ(Field(id, "lease_until"), "");
  EXPECT_EQ(redis_->Int({"XLEN", H(id)}), 3);
  EXPECT_EQ(redis_->Int({"EXISTS", P(id)}), 0);  // out of the outbox
  // A redelivered copy of the finished command is now stale at claim.
  EXPECT_EQ(Claim(id, "1", "w2").at(0), "stale");
}

TEST_F(LuaScripts, APauseStaysStartedAndItsFinalWriteRecordsTheMode) {
  std::string id = Create();
  SetStatus(id, domain::InstanceStatus::kStarted);
  redis_->Cmd({"HSET", I(id), "mode", "running"});
  auto ok = Admit(id, domain::Action::kPause);
  ASSERT_EQ(ok.at(0), "ok");
  EXPECT_EQ(Field(id, "status"), "0");  // the VMs keep running: STARTED throughout
  EXPECT_EQ(Field(id, "p_action"), "pause");
  EXPECT_EQ(Field(id, "mode"), "running");  // until the worker has stopped the services
  ASSERT_EQ(Claim(id, ok.at(1), "w1").at(0), "ok");
  auto write = [&](const std::string& mode) {
    return Eval(redis::scripts::WriteStatus(),
                redis::args::WriteStatus{prefix_, id, std::stoll(ok.at(1)), "w1",
                                         domain::CodeOf(domain::InstanceStatus::kStarted), "", "",
                                         true, 3, "now", "req", 10000, "", 100, mode})
        .at(0);
  };
  EXPECT_EQ(write("paused"), "ok");
  EXPECT_EQ(Field(id, "mode"), "paused");
  EXPECT_EQ(Field(id, "p_action"), "");
  // Another final write (a redelivery's) leaves the mode alone when it names none.
  redis_->Cmd({"HSET", I(id), "lease_by", "w1"});
  EXPECT_EQ(write(""), "ok");
  EXPECT_EQ(Field(id, "mode"), "paused");
  // A resume is admitted from STARTED too; a pause or resume from anything else is refused.
  EXPECT_EQ(Admit(id, domain::Action::kResume).at(0), "ok");
  EXPECT_EQ(Field(id, "p_action"), "resume");
  SetStatus(id, domain::InstanceStatus::kStopped);
  EXPECT_EQ(Admit(id, domain::Action::kPause).at(0), "refused");
}

TEST_F(LuaScripts, DismissErrorClearsAFailureOnlyWhileFullyStopped) {
  std::string id = Create();
  auto dismiss = [&](const std::string& which, const std::string& tenant) {
    std::string from = ",";
    for (auto s : {domain::InstanceStatus::kStopped, domain::InstanceStatus::kFailed})
      from += std::to_string(domain::CodeOf(s)) + ",";
    return Eval(redis::scripts::DismissError(),
                redis::args::DismissError{prefix_, which, tenant, from});
  };
  SetStatus(id, domain::InstanceStatus::kFailed);
  redis_->Cmd({"HSET", I(id), "failure_message", "sim: services failed to stop"});
  EXPECT_EQ(dismiss(id, "other"), (std::vector<std::string>{"notfound"}));
  EXPECT_EQ(dismiss(util::NewUuid(), "t1"), (std::vector<std::string>{"notfound"}));
  EXPECT_EQ(Field(id, "failure_message"), "sim: services failed to stop");
  EXPECT_EQ(dismiss(id, "t1"), (std::vector<std::string>{"ok", "1"}));
  EXPECT_EQ(Field(id, "failure_message"), "");
  EXPECT_EQ(Field(id, "status"), std::to_string(domain::CodeOf(domain::InstanceStatus::kFailed)));
  EXPECT_EQ(dismiss(id, "t1"), (std::vector<std::string>{"ok", "0"}));  // nothing left to clear
  // A message outside the allowed statuses stays; with none there is nothing to refuse.
  SetStatus(id, domain::InstanceStatus::kStarting);
  EXPECT_EQ(dismiss(id, "t1"), (std::vector<std::string>{"ok", "0"}));
  redis_->Cmd({"HSET", I(id), "failure_message", "still"});
  EXPECT_EQ(dismiss(id, "t1"), (std::vector<std::string>{"refused", "3"}));
  EXPECT_EQ(Field(id, "failure_message"), "still");
  SetStatus(id, domain::InstanceStatus::kDestroyed);
  EXPECT_EQ(dismiss(id, "t1"), (std::vector<std::string>{"notfound"}));
  EXPECT_EQ(redis_->Int({"XLEN", H(id)}), 1);  // no status changed: no history entry
}

TEST_F(LuaScripts, AFinalDestroyedNamesTheOwnerWhoseLiveIndexItLeaves) {
  std::string id = Create();
  SetStatus(id, domain::InstanceStatus::kStopped);
  ASSERT_EQ(Admit(id, domain::Action::kDestroy).at(0), "ok");
  ASSERT_EQ(Claim(id, "2", "w1").at(0), "ok");
  // {'ok', owner}: the tenant's live index is in another slot, so the worker removes it.
  EXPECT_EQ(Eval(redis::scripts::WriteStatus(),
                 redis::args::WriteStatus{prefix_, id, 2, "w1",
                                          domain::CodeOf(domain::InstanceStatus::kDestroyed), "",
                                          "", true, 3, "now", "req", 10000, "", 100, ""}),
            (std::vector<std::string>{"ok", "t1"}));
}

TEST_F(LuaScripts, UndoRestoresOnlyItsOwnUnconfirmedAdmission) {
  std::string id = Create();
  SetStatus(id, domain::InstanceStatus::kStopped);
  redis_->Cmd({"HSET", I(id), "p_conf", "1"});  // the create was confirmed
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
  redis_->Cmd({"HSET", I(id), "p_conf", "1"});
  ASSERT_EQ(Admit(id, domain::Action::kStart, "t1", "tok-lost").at(1), "2");
  EXPECT_EQ(Undo("tok-other", id, ""), "absent");
  EXPECT_EQ(Undo("tok-lost", id, ""), "undone");
  EXPECT_EQ(Field(id, "status"), "1");
  EXPECT_EQ(Undo("tok-lost", id, ""), "absent");  // once only
  EXPECT_EQ(Undo("tok-lost", "no-such-id", ""), "absent");
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
  EXPECT_EQ(Confirm("tok-x", other, "1"), "superseded");
  EXPECT_EQ(Field(other, "p_conf"), "0");
  EXPECT_EQ(Confirm("tok-c", other, "1"), "confirmed");
  EXPECT_EQ(Field(other, "p_conf"), "1");
  EXPECT_EQ(Confirm("tok-c", other, "1"), "confirmed");
  EXPECT_EQ(Undo("tok-c", other, "1"), "confirmed");
}

TEST_F(LuaScripts, UndoOfCreateRemovesItsSlotAndNamesTheIndexEntriesLeft) {
  std::string id = Create("t9");
  const std::string seq = Field(id, "seq");
  // {'undone', owner, seq}: the tenant index and the seq map are the caller's to clean.
  EXPECT_EQ(Undo("tok-c", id, "1"), "undone\nt9\n" + seq);
  EXPECT_EQ(redis_->Cmd({"EXISTS", I(id)}), "0");
  EXPECT_EQ(redis_->Cmd({"EXISTS", H(id)}), "0");
  EXPECT_EQ(redis_->Cmd({"ZSCORE", P(id), id}), "");
}

TEST_F(LuaScripts, ReconcilerBacksOffPerCommandAndLeavesWhatAWorkerHolds) {
  std::string id = Create();
  ASSERT_EQ(Confirm("tok-c", id, "1"), "confirmed");
  // The n-th republish is due again 2^n deadlines (1000 here) after it, capped at 32: the bucket
  // score is what the reconciler's scan compares, one deadline before the due time.
  std::vector<std::string> scores;
  for (int64_t now : {5000, 7000, 11000, 19000, 35000, 67000, 99000}) {
    ASSERT_EQ(Reconcile(id, now, 60000).at(0), "republish");
    scores.push_back(redis_->Cmd({"ZSCORE", P(id), id}));
  }
  EXPECT_EQ(scores, (std::vector<std::string>{"6000", "10000", "18000", "34000", "66000", "98000",
                                              "130000"}));
  // A worker that holds the command (peek.lua) moves its entry on, never back.
  auto peek = [&](const std::string& pid, int64_t gen, int64_t seen) {
    return Eval(redis::scripts::Peek(), redis::args::Peek{prefix_, pid, gen, seen});
  };
  EXPECT_EQ(peek(id, 1, 200000), (std::vector<std::string>{"ok", "t1"}));
  EXPECT_EQ(redis_->Cmd({"ZSCORE", P(id), id}), "200000");
  EXPECT_EQ(peek(id, 1, 150000), (std::vector<std::string>{"ok", "t1"}));
  EXPECT_EQ(redis_->Cmd({"ZSCORE", P(id), id}), "200000");
  EXPECT_EQ(peek(id, 1, 0), (std::vector<std::string>{"ok", "t1"}));  // a look only
  EXPECT_EQ(peek(id, 2, 300000), (std::vector<std::string>{"stale"}));
  EXPECT_EQ(redis_->Cmd({"ZSCORE", P(id), id}), "200000");
  EXPECT_EQ(peek("no-such-id", 1, 300000), (std::vector<std::string>{"gone"}));
  EXPECT_EQ(redis_->Cmd({"ZSCORE", P("no-such-id"), "no-such-id"}), "");
}

TEST_F(LuaScripts, ReconcilerNeverRepublishesAnUnconfirmedAdmissionAndHandsItBackAtItsDeadline) {
  std::string id = Create();  // admitted at t=1, unconfirmed (its shim answered 503, or died)
  std::string confirmed = Create();
  ASSERT_EQ(Confirm("tok-c", confirmed, "1"), "confirmed");
  // Past the republish deadline, before the unconfirmed one's: only the confirmed is republished.
  EXPECT_EQ(Reconcile(confirmed, 5000, 20000),
            (std::vector<std::string>{"republish", "create", "1", "req-c", "2"}));
  // Backs off: its first republish is looked at again two deadlines on (5000 + 1000, plus the
  // deadline the scan adds).
  EXPECT_EQ(redis_->Cmd({"ZSCORE", P(confirmed), confirmed}), "6000");
  EXPECT_EQ(Reconcile(id, 5000, 20000), (std::vector<std::string>{"none"}));
  EXPECT_EQ(Field(id, "status"), "2");  // still PENDING, not republished
  // Moved to when it falls due, so it does not hold the bucket's scan window meanwhile.
  EXPECT_EQ(redis_->Cmd({"ZSCORE", P(id), id}), std::to_string(1 + 20000 - 1000 + 1));
  // Past its deadline it is handed back to be undone by its token: nothing is left of it after.
  auto late = Reconcile(id, 30000, 20000);
  EXPECT_EQ(late, (std::vector<std::string>{"undo", "tok-c", "1"}));
  EXPECT_EQ(Undo(late[1], id, late[2]).substr(0, 6), "undone");
  EXPECT_EQ(redis_->Cmd({"EXISTS", I(id)}), "0");
  EXPECT_EQ(redis_->Cmd({"EXISTS", I(confirmed)}), "1");
  // Gone: its bucket entry goes too.
  redis_->Cmd({"ZADD", P(id), "1", id});
  EXPECT_EQ(Reconcile(id, 30000, 20000), (std::vector<std::string>{"none"}));
  EXPECT_EQ(redis_->Cmd({"ZSCORE", P(id), id}), "");
  // Leased by a worker: left alone, until the lease runs out.
  ASSERT_EQ(Claim(confirmed, "1", "w1").at(0), "ok");
  EXPECT_EQ(Reconcile(confirmed, 40000, 20000), (std::vector<std::string>{"none"}));
  const std::string until = Field(confirmed, "lease_until");
  redis_->Cmd({"HSET", I(confirmed), "lease_until", "1"});
  EXPECT_EQ(Reconcile(confirmed, 40000, 20000).at(0), "republish");
  redis_->Cmd({"HSET", I(confirmed), "lease_until", until});
  // An unconfirmed start goes back to where it was; a shim confirming only now learns it is off.
  std::string started = Create();
  SetStatus(started, domain::InstanceStatus::kStopped);
  redis_->Cmd({"HSET", I(started), "p_conf", "1"});
  ASSERT_EQ(Admit(started, domain::Action::kStart, "t1", "tok-s", "40000").at(0), "ok");
  auto again = Reconcile(started, 70000, 20000);
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(Undo(again[1], started, again[2]), "undone");
  EXPECT_EQ(Field(started, "status"), "1");
  EXPECT_EQ(Claim(started, "2", "w1").at(0), "stale");
  EXPECT_EQ(Confirm("tok-s", started, "2"), "undone");
  EXPECT_EQ(Confirm("tok-c", id, "1"), "undone");
}

TEST_F(LuaScripts, ReconcilerFailsWhatIsPendingPastItsTimeout) {
  std::string id = Create();
  ASSERT_EQ(Confirm("tok-c", id, "1"), "confirmed");
  auto failed = Eval(
      redis::scripts::ReconcileOne(),
      redis::args::ReconcileOne{prefix_, id, 10000, "now", 1000, 5000, 5000, ",2:11,", 100, 60000});
  EXPECT_EQ(failed, (std::vector<std::string>{"failed"}));
  EXPECT_EQ(Field(id, "status"), "11");
  EXPECT_EQ(Field(id, "gen"), "2");
  EXPECT_EQ(redis_->Cmd({"ZSCORE", P(id), id}), "");
}

TEST_F(LuaScripts, OneWorkerHoldsTheReconcilerLease) {
  auto take = [&](const std::string& worker) {
    return Eval(redis::scripts::ReconcilerLease(),
                redis::args::ReconcilerLease{prefix_, worker, 10000})
        .at(0);
  };
  EXPECT_EQ(take("w1"), "1");
  EXPECT_EQ(take("w2"), "0");
  EXPECT_EQ(take("w1"), "1");  // extended
  redis_->Cmd({"DEL", redis::keys::ReconcilerLease(prefix_)});
  EXPECT_EQ(take("w2"), "1");
}

TEST_F(LuaScripts, RenewLeaseTellsSuperseded) {
  std::string id = Create();
  ASSERT_EQ(Claim(id, "1", "w1").at(0), "ok");
  auto renew = [&](const std::string& worker) {
    return Eval(redis::scripts::RenewLease(), redis::args::RenewLease{prefix_, id, worker, 1000, 1})
        .at(0);
  };
  EXPECT_EQ(renew("w1"), "1");
  EXPECT_EQ(renew("w2"), "0");
  redis_->Cmd({"HINCRBY", I(id), "gen", "1"});
  EXPECT_EQ(renew("w1"), "0");
}

TEST_F(LuaScripts, ReleaseForRetryGivesBackTheLeaseAndDefersTheOutbox) {
  std::string id = Create();
  ASSERT_EQ(Claim(id, "1", "w1").at(0), "ok");
  auto release = [&](const std::string& worker, const std::string& gen) {
    return Eval(redis::scripts::ReleaseForRetry(),
                redis::args::ReleaseForRetry{prefix_, id, worker, std::stoll(gen), 5000})
        .at(0);
  };
  EXPECT_EQ(release("w2", "1"), "1");  // not w2's lease: it stays
  EXPECT_EQ(Field(id, "lease_by"), "w1");
  EXPECT_EQ(release("w1", "1"), "1");
  EXPECT_EQ(Field(id, "lease_by"), "");
  EXPECT_EQ(redis_->Cmd({"ZSCORE", P(id), id}), "5000");  // due when the retry is
  ASSERT_EQ(Claim(id, "1", "w2").at(0), "ok");            // any worker may run the retry
  redis_->Cmd({"HSET", I(id), "p_gen", "2"});             // superseded meanwhile
  EXPECT_EQ(release("w2", "1"), "0");
  EXPECT_EQ(Field(id, "lease_by"), "");
}

TEST_F(LuaScripts, HistoryTailReadsFromAnEntryAndSaysWhatTrimmingLeft) {
  const std::string id = util::NewUuid();
  auto tail = [&](const std::string& start) {
    return Eval(redis::scripts::HistoryTail(), redis::args::HistoryTail{prefix_, id, start, 10});
  };
  EXPECT_EQ(tail("0-0"), (std::vector<std::string>{"", ""}));  // no history (an undone create)
  for (int i = 1; i <= 5; ++i) {
    redis_->Cmd({"XADD", H(id), std::to_string(i) + "-0", "status", "1"});
  }
  auto from3 = tail("3-0");
  ASSERT_EQ(from3.size(), 2u);
  EXPECT_EQ(from3[0], "");  // nothing ever trimmed
  EXPECT_EQ(from3[1].rfind("3-0\n", 0), 0u) << from3[1];
  EXPECT_NE(from3[1].find("5-0"), std::string::npos);
  redis_->Cmd({"XTRIM", H(id), "MAXLEN", "2"});
  EXPECT_EQ(tail("3-0").at(0), "4-0");  // 3-0 may be gone: the first kept is 4-0
  EXPECT_EQ(tail("6-0"), (std::vector<std::string>{"", ""}));  // nothing after: nothing to judge
}

TEST_F(LuaScripts, IdempotencyKeepBoundsATenantsRecordsOldestFirst) {
  auto keep = [&](const std::string& tenant, const std::string& hash, size_t len,
                  int64_t max_records, int64_t max_bytes) {
    return Eval(redis::scripts::IdempotencyKeep(),
                redis::args::IdempotencyKeep{prefix_, tenant, hash, std::string(len, 'r'), 60000,
                                             max_records, max_bytes, 100})
        .at(0);
  };
  auto rec = [&](const std::string& tenant, const std::string& hash) {
    return redis_->Int({"EXISTS", redis::keys::IdempotencyRecord(prefix_, tenant, hash)});
  };
  auto charged = [&](const std::string& tenant) {
    return redis_->Cmd({"HGET", redis::keys::IdempotencyBytes(prefix_, tenant), "#"});
  };
  // At most 3 records: the fourth drops the first, only that tenant's.
  EXPECT_EQ(keep("t1", "a", 10, 3, 1000000), "0");
  EXPECT_EQ(keep("other", "a", 10, 3, 1000000), "0");
  EXPECT_EQ(keep("t1", "b", 10, 3, 1000000), "0");
  EXPECT_EQ(keep("t1", "c", 10, 3, 1000000), "0");
  EXPECT_EQ(charged("t1"), "330");  // 3 x (10 bytes + 100 overhead)
  EXPECT_EQ(keep("t1", "d", 10, 3, 1000000), "1");
  EXPECT_EQ(rec("t1", "a"), 0);
  EXPECT_EQ(rec("t1", "b") + rec("t1", "c") + rec("t1", "d"), 3);
  EXPECT_EQ(rec("other", "a"), 1);
  EXPECT_EQ(redis_->Int({"ZCARD", redis::keys::IdempotencyIndex(prefix_, "t1")}), 3);
  EXPECT_EQ(charged("t1"), "330");
  // At most 500 bytes: a 300-byte record drops the oldest until the sum fits (b, c).
  EXPECT_EQ(keep("t1", "e", 200, 10, 500), "2");
  EXPECT_EQ(rec("t1", "b") + rec("t1", "c"), 0);
  EXPECT_EQ(rec("t1", "d") + rec("t1", "e"), 2);
  EXPECT_EQ(charged("t1"), "410");
  // Kept again under the same key: charged once, at its new size.
  EXPECT_EQ(keep("t1", "e", 50, 10, 500), "0");
  EXPECT_EQ(charged("t1"), "260");
  // The newest is never dropped, even alone over the limit; the index expires with the records.
  EXPECT_EQ(keep("t1", "f", 1000, 10, 500), "2");
  EXPECT_EQ(rec("t1", "f"), 1);
  EXPECT_GT(redis_->Int({"PTTL", redis::keys::IdempotencyIndex(prefix_, "t1")}), 0);
  EXPECT_GT(redis_->Int({"PTTL", redis::keys::IdempotencyBytes(prefix_, "t1")}), 0);
  // One slot per tenant (Redis Cluster): the record, the index and the sizes.
  EXPECT_EQ(redis::keys::SlotOf(redis::keys::IdempotencyRecord(prefix_, "t1", "x")),
            redis::keys::SlotOf(redis::keys::IdempotencyIndex(prefix_, "t1")));
  EXPECT_EQ(redis::keys::SlotOf(redis::keys::IdempotencyBytes(prefix_, "t1")),
            redis::keys::SlotOf(redis::keys::IdempotencyIndex(prefix_, "t1")));
}

}  // namespace
}  // namespace lambda

namespace lambda {
namespace {

TEST_F(LuaScripts, AdmissionsWriteWhoAdmittedIntoTheHistoryEntryOnlyWhenGiven) {
  const redis::args::Audit who{"0123456789abcdef", "ci", "127.0.0.1", "zenlayer"};
  std::string id = util::NewUuid();
  auto made = Eval(redis::scripts::AdmitCreate(),
                   redis::args::AdmitCreate{prefix_, id, "t1", "n", "{}", "req-a", 1, "now", 100,
                                            "tok-a", ++seq_, who});
  ASSERT_EQ(made.at(0), "ok");
  auto created = redis_->Array({"XRANGE", H(id), "-", "+"});
  ASSERT_EQ(created.size(), 1U);
  EXPECT_NE(created[0].find("key_id\n0123456789abcdef\nkey_name\nci\nclient\n127.0.0.1\n"
                            "dialect\nzenlayer"),
            std::string::npos)
      << created[0];
  SetStatus(id, domain::InstanceStatus::kStopped);
  auto ok = Eval(
      redis::scripts::Admit(),
      redis::args::Admit{prefix_, id, "t1", "start",
                         domain::CodeOf(domain::TransitionalStatus(domain::Action::kStart)),
                         Allowed(domain::Action::kStart), "req-s", 3, "now", 100, "", "tok", who});
  ASSERT_EQ(ok.at(0), "ok");
  auto started = redis_->Array({"XREVRANGE", H(id), "+", "-", "COUNT", "1"});
  ASSERT_EQ(started.size(), 1U);
  EXPECT_NE(started[0].find("request_id\nreq-s"), std::string::npos) << started[0];
  EXPECT_NE(started[0].find("key_name\nci\nclient\n127.0.0.1\ndialect\nzenlayer"),
            std::string::npos)
      << started[0];
  // A cancel's entry names who cancelled, beside its reason.
  std::string moves = ",";
  for (int c = 0; c < domain::kStatusCount; ++c) {
    if (auto to = domain::CancelTo(static_cast<domain::InstanceStatus>(c)))
      moves += std::to_string(c) + ":" + std::to_string(domain::CodeOf(*to)) + ",";
  }
  auto cancelled = Eval(
      redis::scripts::AdmitCancel(),
      redis::args::AdmitCancel{prefix_, id, "t1", moves, "req-c", 5, "now", 100, "tok-c", who});
  ASSERT_EQ(cancelled.at(0), "ok");
  auto cancel_entry = LastEntry(id);
  EXPECT_NE(cancel_entry.find("reason\ncancelled\nkey_id\n0123456789abcdef\nkey_name\nci\n"
                              "client\n127.0.0.1\ndialect\nzenlayer"),
            std::string::npos)
      << cancel_entry;
  // Without an actor (older callers, the CLI's seeds): the entry is exactly as before.
  std::string plain = Create();
  auto entry = redis_->Array({"XRANGE", H(plain), "-", "+"});
  ASSERT_EQ(entry.size(), 1U);
  EXPECT_EQ(entry[0].find("key_id"), std::string::npos) << entry[0];
}

TEST_F(LuaScripts, TouchKeyWritesLastUsedOnlyWhileTheKeyExists) {
  const std::string key = redis::keys::ApiKey(prefix_, "h1");
  EXPECT_EQ(Eval(redis::scripts::TouchKey(), redis::args::TouchKey{prefix_, "h1", "T1"}).at(0),
            "0");
  EXPECT_EQ(redis_->Int({"EXISTS", key}), 0);  // a revoked key is not brought back
  redis_->Cmd({"HSET", key, "tenant", "t1"});
  EXPECT_EQ(Eval(redis::scripts::TouchKey(), redis::args::TouchKey{prefix_, "h1", "T2"}).at(0),
            "1");
  EXPECT_EQ(redis_->Cmd({"HGET", key, "last_used"}), "T2");
}

}  // namespace
}  // namespace lambda

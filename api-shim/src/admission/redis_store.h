#pragma once
/// `AdmissionStore` over the real Redis client: admit.lua, index_create.lua, admit_create.lua,
/// confirm.lua and undo_admission.lua, their KEYS and ARGV built by the typed structs of
/// script_args.h and their replies parsed here only. Every call touches one slot (keys.h), so
/// the same store runs on one Redis and on Redis Cluster.
#include <string>

#include "admission/admission.h"
#include "lambda/redis/async_client.h"

namespace lambda::shim {

class RedisAdmissionStore final : public AdmissionStore {
 public:
  /// `wait_replicas` > 0: an admission counts only once that many replicas hold it (WAIT on
  /// its node); one that times out is answered as a lost reply, so it is undone by its token.
  RedisAdmissionStore(redis::Client* redis, std::string prefix, int history_max,
                      int wait_replicas = 0, uint64_t wait_timeout_ms = 500)
      : redis_(redis),
        prefix_(std::move(prefix)),
        history_max_(history_max),
        wait_replicas_(wait_replicas),
        wait_timeout_ms_(wait_timeout_ms) {}

  bool connected() const override { return redis_->connected(); }
  void Admit(const AdmitPlan& plan, const std::string& token,
             std::function<void(Result<AdmitReply>)> done) override;
  void Settle(bool confirm, const std::string& token, const redis::args::IdGens& id_gens,
              const std::string& why, std::function<void(Result<SettleReply>)> done) override;

  /// The scripts' replies (pure; unit-tested).
  static Result<AdmitReply> ParseAdmit(AdmitPlan::Kind kind, const std::vector<std::string>& ids,
                                       const redis::Value& v);
  static SettleReply ParseSettle(const redis::Value& v);

 private:
  void AdmitOne(const AdmitPlan& plan, const std::string& id, const std::string& token,
                redis::Callback done);
  void AdmitMany(const AdmitPlan& plan, const std::string& token,
                 std::function<void(Result<AdmitReply>)> done);
  void AdmitEach(const AdmitPlan& plan, const std::string& token,
                 std::function<void(Result<AdmitReply>)> done);
  void AdmitCreate(const AdmitPlan& plan, const std::string& token,
                   std::function<void(Result<AdmitReply>)> done);
  /// An undone create named in an undo_admission.lua answer: its tenant index entries go next.
  struct UndoneCreate {
    std::string tenant, id, seq;
  };
  static void UndoneCreates(const std::string& id, const redis::Value& v,
                            std::vector<UndoneCreate>& out);
  /// Hands `reply` on once every admitted instance's node has it on wait_replicas_ replicas.
  void Replicated(Result<AdmitReply> reply, std::function<void(Result<AdmitReply>)> done);
  /// Hands `reply` on once every settled instance's node has the settlement on wait_replicas_
  /// replicas; an error otherwise, so the caller settles again.
  void Durable(const redis::args::IdGens& id_gens, SettleReply reply,
               const std::function<void(Result<SettleReply>)>& done);

  redis::Client* redis_;
  std::string prefix_;
  int history_max_;
  int wait_replicas_;
  uint64_t wait_timeout_ms_;
};

}  // namespace lambda::shim

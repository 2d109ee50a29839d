#pragma once
/// The admission protocol (SPEC §3): admit in Redis under a fresh token → publish each command
/// with publisher confirms → confirm the admission in Redis (then 202) or undo it (then 503).
/// One `Admission` per request, moved from step to step by its callbacks only; its ports (the
/// Redis scripts, the confirming publisher) are interfaces, so every branch is unit-tested
/// against fakes. Thread: loop only.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lambda/amqp/publisher.h"
#include "lambda/domain/status.h"
#include "lambda/redis/script_args.h"
#include "lambda/result.h"
#include "tenants/refusal.h"

namespace lambda::shim {

/// What to admit. `ids` holds one id (kOne, kCreate: the new one) or many (kMany).
struct AdmitPlan {
  enum class Kind { kOne, kMany, kCreate };
  Kind kind = Kind::kOne;
  domain::Action action = domain::Action::kStart;
  std::vector<std::string> ids;
  std::string tenant, request_id;
  std::string allowed;  ///< kOne, kMany: ",1,9," (from the domain table or a dialect's rule)
  std::string mode;     ///< kOne: Feldera's desired mode ('' = leave as is)
  std::string name, info_json;              ///< kCreate
  std::map<std::string, std::string> tags;  ///< kCreate: indexed with it (SPEC §4.5)
  /// kCreate: the tenant's quota of live instances when its limits hash has none (-1: none).
  int64_t max_instances = -1;
  redis::args::Audit audit;  ///< who admits it, written into the history entry
};

/// The admission script's answer.
struct AdmitReply {
  /// kOverQuota: a create refused at the tenant's max live instances (nothing written).
  enum class Kind { kAdmitted, kNotFound, kRefused, kCollision, kOverQuota };
  Kind kind = Kind::kAdmitted;
  std::string id;  ///< kNotFound / kRefused: which instance
  domain::InstanceStatus status =
      domain::InstanceStatus::kPending;                   ///< kRefused: its current status
  std::vector<std::pair<std::string, int64_t>> admitted;  ///< kAdmitted: (id, gen) each
  int64_t limit = 0;                                      ///< kOverQuota: the quota it met
};

/// The confirm or undo script's answer, counted over the ids it was given.
struct SettleReply {
  size_t total = 0;
  size_t confirmed = 0;  ///< undo: a worker claimed it (or it was confirmed): it stands
  size_t undone = 0;     ///< confirm: the reconciler undid it first; undo: undone now
};

/// The Redis side of admission.
class AdmissionStore {
 public:
  virtual ~AdmissionStore() = default;
  virtual bool connected() const = 0;
  /// Error kTimeout: the reply was lost, so the script may have run; any other error: it did not.
  virtual void Admit(const AdmitPlan& plan, const std::string& token,
                     std::function<void(Result<AdmitReply>)> done) = 0;
  virtual void Settle(bool confirm, const std::string& token, const redis::args::IdGens& id_gens,
                      const std::string& why, std::function<void(Result<SettleReply>)> done) = 0;
};

/// What an admission came to, as the dialects answer it.
struct AdmissionOutcome {
  /// kUnavailable: nothing changed (503); kUnknown: Redis could not be told the outcome in time,
  /// so the action may or may not happen (504, never a 503); kOverQuota: a create at the
  /// tenant's quota of live instances, nothing changed (429).
  enum class Kind { kAccepted, kNotFound, kRefused, kUnavailable, kUnknown, kOverQuota };
  Kind kind = Kind::kUnavailable;
  domain::InstanceStatus status =
      domain::InstanceStatus::kPending;  ///< kRefused: the current status
  std::string id;     ///< kNotFound / kRefused: which instance; kAccepted / kUnknown create: new id
  std::string error;  ///< kUnavailable / kUnknown: why
  int64_t limit = 0;  ///< kOverQuota: the quota
  LimitRefusal::Kind limit_kind = LimitRefusal::Kind::kInstances;  ///< kOverQuota: which
};

class Admission;

/// Settlements waiting for Redis to answer again, retried from the owner's timer.
class ParkedSettlements {
 public:
  static constexpr size_t kMax = 100000;
  bool Park(std::shared_ptr<Admission> a);
  /// Redis is back: every parked settlement is sent again. Redis away: the ones past their
  /// budget are answered kUnknown.
  void Tick(bool redis_up, uint64_t now_ms);
  size_t size() const { return parked_.size(); }

 private:
  std::vector<std::shared_ptr<Admission>> parked_;
};

/// What admissions count: plain numbers, read by /metrics on the same loop.
struct AdmissionCounters {
  uint64_t publishes_confirmed = 0;
  uint64_t publishes_failed = 0;
  uint64_t reply_lost = 0;  ///< the admission script's reply lost (answered 503, undone)
  uint64_t unsettled = 0;   ///< confirm/undo never reached Redis in the budget (504)
  uint64_t undone = 0;
  /// Admission start to the broker's confirm, per confirmed publish; may be empty.
  std::function<void(uint64_t ms)> confirm_latency_ms;
};

struct AdmissionPorts {
  AdmissionStore* store = nullptr;
  amqp::Publisher* publisher = nullptr;
  ParkedSettlements* parked = nullptr;
  std::function<uint64_t()> now_ms;
  std::function<std::string()> new_token;
  /// Test-only fault point between admission and publish (the reconciler must recover it).
  std::function<void(const std::string& instance_id)> before_publish;
  AdmissionCounters* counters = nullptr;
  uint64_t settle_budget_ms = 3000;
};

class Admission : public std::enable_shared_from_this<Admission> {
 public:
  enum class Step {
    kAdmitting,      ///< the admission script runs
    kPublishing,     ///< commands are with the broker, confirms pending
    kSettling,       ///< the confirm or undo script runs
    kAwaitingRedis,  ///< the settle script failed; parked until Redis answers or the budget ends
    kDone,
  };
  using Done = std::function<void(const AdmissionOutcome&)>;

  /// `done` runs exactly once. The admission keeps itself alive through the callbacks it has
  /// handed out until it reaches kDone (a lost Redis reply is answered at once, and its undo
  /// carries on unwatched).
  static std::shared_ptr<Admission> Start(const AdmissionPorts& ports, AdmitPlan plan, Done done);

  Admission(const AdmissionPorts& ports, AdmitPlan plan, Done done);
  Step step() const { return step_; }
  const std::string& token() const { return token_; }
  uint64_t deadline_ms() const { return deadline_ms_; }

  // ParkedSettlements drives these.
  void RetrySettle();
  void GiveUp();

 private:
  void OnAdmitted(Result<AdmitReply> r);
  void Publish(const std::string& id, int64_t gen);
  void OnPublished(const std::string& id, int64_t gen, const Status& st);
  void StartSettle(bool confirm, std::string why, uint64_t budget_ms);
  void SendSettle();
  void OnSettled(Result<SettleReply> r);
  void Answer(const AdmissionOutcome& o);
  /// The counters, or a scratch set when the ports have none.
  AdmissionCounters& Counters();

  AdmissionPorts ports_;
  AdmitPlan plan_;
  Done done_;  ///< emptied once answered
  Step step_ = Step::kAdmitting;
  std::string token_;
  uint64_t started_ms_ = 0;      ///< for the admission-to-confirm latency
  redis::args::IdGens id_gens_;  ///< what was admitted (or, reply lost, what may have been)
  size_t publishes_left_ = 0;
  Status published_ = OkStatus();  ///< the first failed publish, if any
  bool confirm_ = false;
  std::string why_;
  uint64_t deadline_ms_ = 0;
};

}  // namespace lambda::shim

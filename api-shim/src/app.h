#pragma once
/// The api-shim's core: authenticates, admits in Redis, publishes with confirms, answers.
/// Thread: loop only. Owns the Redis client, the AMQP connection and the HTTP server.
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "admission/admission.h"
#include "admission/batching_publisher.h"
#include "admission/redis_store.h"
#include "auth/access_keys.h"
#include "auth/authenticator.h"
#include "config.h"
#include "core.h"
#include "idempotency/idempotency.h"
#include "lambda/amqp/connection.h"
#include "lambda/amqp/publisher.h"
#include "lambda/domain/status.h"
#include "lambda/http/server.h"
#include "lambda/json/json.h"
#include "lambda/metrics/metrics.h"
#include "lambda/redis/async_client.h"
#include "lambda/redis/grouping_client.h"
#include "lambda/uv/handle.h"
#include "routes/body.h"
#include "routes/shape.h"
#include "routes/table.h"
#include "tenants/gate.h"
#include "tenants/inflight.h"
#include "tenants/revocation.h"

namespace lambda::shim {

class App final : public Core {
 public:
  App(uv_loop_t* loop, Config config);
  ~App() override;
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  Status Start();
  /// Stops accepting, lets in-flight requests finish (bounded by the grace period), then
  /// closes Redis and RabbitMQ; `done` runs when nothing is left.
  void Shutdown(const std::function<void()>& done);
  int port() const { return server_->port(); }
  /// What /readyz says: listening (after Start) with Redis and RabbitMQ connected.
  bool Ready() const { return redis_ && amqp_ && redis_->connected() && amqp_->connected(); }

 private:
  void Handle(http::Request req, http::Responder respond);
  /// Checks the call's API key (cached), or on the Zenlayer route its ZC2-HMAC-SHA256 signature,
  /// and runs `then` with call->tenant set, or answers 401/503.
  void Authenticate(const std::shared_ptr<Call>& call, std::function<void()> then);
  /// `Expect: 100-continue`: nullopt when the body is wanted, else the final answer (404, 405,
  /// 401, 503) from the same checks the full request would meet.
  void CheckHead(const http::Request& head,
                 std::function<void(std::optional<http::Response>)> decide);
  void Dispatch(const std::shared_ptr<Call>& call);
  /// An `Idempotency-Key` on a POST/DELETE: answered from the kept answer, refused (400, 409,
  /// 422), or dispatched with its answer kept. Without the header: Dispatch.
  void DispatchOnce(const std::shared_ptr<Call>& call);
  /// An error in the shape of the API of the call's path (routes::ErrorResponse); `code`, when
  /// not empty, replaces the status's default code where the dialect has codes.
  void ReplyDialectError(Call& call, int status, std::string_view text, std::string_view code);

  // Core (app.cpp): what every dialect maps onto.
  void Admit(const std::shared_ptr<Call>& call, const std::string& id, domain::Action action,
             const std::string& allowed, const std::string& mode,
             const std::function<void(AdmissionOutcome)>& done) override;
  void AdmitMany(const std::shared_ptr<Call>& call, const std::vector<std::string>& ids,
                 domain::Action action, const std::string& allowed,
                 const std::function<void(AdmissionOutcome)>& done) override;
  void Create(const std::shared_ptr<Call>& call,
              const std::function<void(Creation)>& done) override;
  void Read(const std::shared_ptr<Call>& call, const std::string& id,
            const std::function<void(Result<std::optional<routes::InstanceRecord>>)>& done,
            bool status_only) override;
  void ResolveId(const std::string& raw,
                 const std::function<void(Result<std::string>)>& done) override;
  void ReadPage(const std::string& tenant, bool live, int64_t start, int64_t stop,
                std::vector<std::string> fields,
                std::function<void(Result<IndexPage>)> done) override;
  void ReadEach(std::vector<std::string> ids, std::vector<std::string> fields,
                std::function<void(Result<std::vector<redis::Value>>)> done) override;
  void CountLive(const std::string& tenant,
                 const std::function<void(Result<int64_t>)>& done) override;
  void ReadAudit(const std::string& tenant, const std::string& start, int64_t count,
                 redis::Callback done) override;
  void ReadHistory(const std::string& id, bool reverse, std::vector<std::string> range,
                   redis::Callback done) override;
  void RunScript(const redis::Script& script, std::vector<std::string> keys,
                 std::vector<std::string> argv, redis::Callback done) override;
  watch::Hub& watchers() override { return *hub_; }
  const std::string& redis_prefix() const override { return config_.redis_prefix; }
  redis::Client& store() override { return *redis_; }
  const std::string& AllowedFrom(domain::Action a) const override {
    return allowed_[static_cast<int>(a)];
  }
  /// Test-only fault point: admitted in Redis, never published (the reconciler recovers it).
  void MaybeCrashBeforePublish(const std::string& instance_id) const;

  void Reply(Call& call, int status, std::string body,
             std::vector<std::pair<std::string, std::string>> headers = {}) override;
  void ReplyError(Call& call, int status, std::string_view detail);
  /// 401 in the shape of the call's dialect.
  void ReplyUnauthorized(Call& call) override;
  void ReplyUnavailable(Call& call, std::string_view why) override;
  void ReplyBusy(Call& call, std::string_view reason) override;
  std::string NoteError(const Call& call, std::string_view detail) override;
  /// 429 + Retry-After + RateLimit headers in the shape of the call's dialect (Zenlayer:
  /// REQUEST_LIMIT_EXCEEDED), counted by kind.
  void ReplyLimited(Call& call, const LimitRefusal& refusal) override;
  void ReplyUnknown(Call& call, std::string_view why) override;
  std::string BaseUrl(const http::Request& req) const override;
  /// Declares every metric family (app_metrics.cpp).
  void DeclareMetrics();
  void ObserveHttp(routes::Route route, int status, uint64_t started_ns);

  uv_loop_t* loop_;
  Config config_;
  json::Schema create_schema_;
  std::unique_ptr<redis::LiveClient> redis_;        ///< one server, or a Redis Cluster
  std::unique_ptr<redis::GroupingClient> grouped_;  ///< over redis_: the admission scripts' calls
  std::unique_ptr<amqp::Connection> amqp_;
  std::unique_ptr<amqp::ConfirmingPublisher> publisher_;  ///< over amqp_, destroyed before it
  std::unique_ptr<BatchingPublisher> command_publisher_;  ///< over publisher_, destroyed first
  std::unique_ptr<watch::Hub> hub_;  ///< over redis_; outlives server_ (held requests cancel)
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<uv::Timer> shutdown_timer_;
  std::unique_ptr<uv::Timer> settle_timer_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<AccessKeyAuthenticator> access_keys_;  ///< ZC2-HMAC-SHA256 on /api/v2/vm
  std::unique_ptr<idempotency::Store> idempotency_;
  std::unique_ptr<TenantGate> gate_;  ///< per-tenant limits, per-address buckets
  std::unique_ptr<KeyRevocation> revocation_;
  InFlight inflight_;  ///< per tenant, its instances in a transitional status
  /// Whether `n` more actions of the call's tenant would pass its max_inflight; if not, answers
  /// `done` with the refusal.
  bool MayAdmit(const Call& call, size_t n, const std::function<void(AdmissionOutcome)>& done);
  /// `ids` admitted for `tenant`: in flight from now (their messages confirm it).
  void Admitted(const std::string& tenant, const AdmissionOutcome& o,
                const std::vector<std::string>& ids);  ///< ends the watches of revoked keys
  /// An accepted admission of `ids`: appended to the tenant's audit trail (audit/trail.h).
  void Audited(const Call& call, domain::Action action, const AdmissionOutcome& o,
               const std::vector<std::string>& ids);
  struct Counters {
    uint64_t rate_limited = 0;                  ///< every 429 of the limits
    uint64_t limited[kLimitRefusalKinds] = {};  ///< by LimitRefusal::Kind
    uint64_t idempotent_replays = 0;
  };
  Counters counters_;
  AdmissionCounters admission_counters_;
  metrics::Exposition metrics_;
  prometheus::Family<prometheus::Histogram>* http_seconds_ = nullptr;
  /// (route, status) → its series, made on first use (then no labels are built per request).
  std::unordered_map<uint32_t, prometheus::Histogram*> http_series_;
  prometheus::Histogram* confirm_seconds_ = nullptr;
  std::string
      allowed_[domain::kActionCount];  ///< per action: ",1,9," from the domain table, for admit.lua
  std::unique_ptr<RedisAdmissionStore> admission_store_;
  ParkedSettlements parked_;  ///< settlements waiting for Redis to answer again
  AdmissionPorts admission_ports_;
};

}  // namespace lambda::shim

#pragma once
/// The small core every dialect maps onto (SPEC §4): admit one or many actions, create, read,
/// resolve ids, run a read script, and answer a call. The route modules (routes/legacy,
/// routes/zenlayer, routes/feldera) are free functions over it; `App` implements it.
/// Thread: loop only.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admission/admission.h"
#include "lambda/domain/status.h"
#include "lambda/domain/tenant_limits.h"
#include "lambda/http/server.h"
#include "lambda/redis/async_client.h"
#include "routes/shape.h"
#include "routes/table.h"
#include "tenants/refusal.h"
#include "watch/hub.h"

namespace lambda::shim {

/// What a create request came to.
struct Creation {
  /// kOverQuota: the tenant has its quota of live instances (429, nothing made).
  enum class Kind { kAccepted, kInvalid, kUnavailable, kUnknown, kOverQuota };
  Kind kind = Kind::kUnavailable;
  std::string id;
  std::vector<std::string> problems;  ///< kInvalid: "field: problem"
  std::string error;
  int64_t limit = 0;                                               ///< kOverQuota: the quota
  LimitRefusal::Kind limit_kind = LimitRefusal::Kind::kInstances;  ///< kOverQuota: which
};

/// Per-request context handed to route handlers.
struct Call {
  http::Request req;
  http::Responder respond;
  std::string request_id;
  std::string tenant;
  domain::TenantLimits limits;  ///< the tenant's (set with `tenant`)
  redis::args::Audit audit;     ///< who calls (key id and name), from where, in which dialect
  routes::RouteMatch match;
};

/// A page of a tenant index with the fields read of each instance on it.
struct IndexPage {
  int64_t total = 0;
  std::vector<std::string> ids;
  std::vector<redis::Value> fields;  ///< per id: the HMGET answer
};

class Core {
 public:
  virtual ~Core() = default;

  /// Admits `action` on `id` from the statuses in `allowed` (",1,9,"), publishes its command and
  /// waits for the confirm; on a failed publish the admission is undone. `done` runs once.
  virtual void Admit(const std::shared_ptr<Call>& call, const std::string& id,
                     domain::Action action, const std::string& allowed, const std::string& mode,
                     const std::function<void(AdmissionOutcome)>& done) = 0;
  /// All-or-nothing over `ids` in one script; every admitted id is undone if any publish fails.
  virtual void AdmitMany(const std::shared_ptr<Call>& call, const std::vector<std::string>& ids,
                         domain::Action action, const std::string& allowed,
                         const std::function<void(AdmissionOutcome)>& done) = 0;
  virtual void Create(const std::shared_ptr<Call>& call,
                      const std::function<void(Creation)>& done) = 0;
  /// The caller's instance, nullopt when missing or another tenant's. `status_only` reads just
  /// id, name, owner, status and failure_message.
  virtual void Read(const std::shared_ptr<Call>& call, const std::string& id,
                    const std::function<void(Result<std::optional<routes::InstanceRecord>>)>& done,
                    bool status_only) = 0;
  /// An instance id from a path segment: a UUID as is, an integer through its seq (legacy).
  /// Empty when neither; the tenant is checked by whatever reads or admits the id next.
  virtual void ResolveId(const std::string& raw,
                         const std::function<void(Result<std::string>)>& done) = 0;
  /// A page (ZRANGE start..stop) of the tenant's ids (`live` false: all, in creation order) or
  /// of its live ids, with `fields` of each instance. Index entries whose instance is gone (an
  /// undone create's, left by a crash) are left out of `ids`; `total` is the index's size.
  virtual void ReadPage(const std::string& tenant, bool live, int64_t start, int64_t stop,
                        std::vector<std::string> fields,
                        std::function<void(Result<IndexPage>)> done) = 0;
  /// `fields` of each of `ids` (one array per id, nil fields when it is missing), at once.
  virtual void ReadEach(std::vector<std::string> ids, std::vector<std::string> fields,
                        std::function<void(Result<std::vector<redis::Value>>)> done) = 0;
  /// The tenant's instances that are not destroyed.
  virtual void CountLive(const std::string& tenant,
                         const std::function<void(Result<int64_t>)>& done) = 0;
  /// XRANGE (or XREVRANGE when `reverse`) over `id`'s history stream with `range` (start, end,
  /// and optionally COUNT n).
  virtual void ReadHistory(const std::string& id, bool reverse, std::vector<std::string> range,
                           redis::Callback done) = 0;
  /// Runs one of common/lua/'s scripts (its KEYS and ARGV from script_args.h) on the live client.
  virtual void RunScript(const redis::Script& script, std::vector<std::string> keys,
                         std::vector<std::string> argv, redis::Callback done) = 0;
  /// XRANGE of the tenant's audit trail (§4.5) from `start`, at most `count` entries.
  virtual void ReadAudit(const std::string& tenant, const std::string& start, int64_t count,
                         redis::Callback done) = 0;
  /// The shim's watchers (§4.4): long polls and event streams.
  virtual watch::Hub& watchers() = 0;
  virtual const std::string& redis_prefix() const = 0;
  /// The live Redis client, for routes over the tenant's tag indexes (redis/tag_store.h).
  virtual redis::Client& store() = 0;
  /// The public base URL for links in answers (configured, or from the Host header).
  virtual std::string BaseUrl(const http::Request& req) const = 0;
  /// ",1,9,": the statuses `action` is admitted from, from the domain table.
  virtual const std::string& AllowedFrom(domain::Action a) const = 0;

  virtual void Reply(Call& call, int status, std::string body,
                     std::vector<std::pair<std::string, std::string>> headers = {}) = 0;
  /// 503 + Retry-After in the shape of the call's dialect. `why` is operator-side text (a Redis
  /// or Lua error): logged under a new error id, and the tenant reads only that id (SPEC §8).
  virtual void ReplyUnavailable(Call& call, std::string_view why) = 0;
  /// 503 + Retry-After whose reason the tenant may read (e.g. too many watchers).
  virtual void ReplyBusy(Call& call, std::string_view reason) = 0;
  /// 504: the action may or may not happen (Redis could not be told in time); never a 503.
  /// `why` is operator-side text, as for ReplyUnavailable.
  virtual void ReplyUnknown(Call& call, std::string_view why) = 0;
  /// Logs operator-side text about the call under a new error id, and returns the id (what the
  /// tenant is shown instead of the text).
  virtual std::string NoteError(const Call& call, std::string_view detail) = 0;
  /// 429 with Retry-After and RateLimit-Policy / RateLimit, in the shape of the call's dialect.
  virtual void ReplyLimited(Call& call, const LimitRefusal& refusal) = 0;
  /// 401 in the shape of the call's dialect (a key revoked while its request was held).
  virtual void ReplyUnauthorized(Call& call) = 0;
};

namespace dialects {
void Service(Core& core, const std::shared_ptr<Call>& call);   ///< routes/service.cpp (§4.1)
void Legacy(Core& core, const std::shared_ptr<Call>& call);    ///< routes/legacy.cpp
void Zenlayer(Core& core, const std::shared_ptr<Call>& call);  ///< routes/zenlayer.cpp
void Feldera(Core& core, const std::shared_ptr<Call>& call);   ///< routes/feldera.cpp
/// §4.4 (routes/watch.cpp): `GET …/status/?wait_for=` held until a wanted status.
void WaitForStatus(Core& core, const std::shared_ptr<Call>& call);
/// §4.4 (routes/watch.cpp): `GET …/events/`, JSON history or Server-Sent Events.
void Events(Core& core, const std::shared_ptr<Call>& call);
/// §4.4 (routes/watch.cpp): `GET /api/lambda-instances/events/`, every change of the tenant's.
void TenantEvents(Core& core, const std::shared_ptr<Call>& call);
/// §4.4 (routes/batch.cpp): `POST /api/lambda-instances/actions/`.
void Batch(Core& core, const std::shared_ptr<Call>& call);
/// §4.5 (routes/audit.cpp): `GET /api/audit/`.
void AuditTrail(Core& core, const std::shared_ptr<Call>& call);
}  // namespace dialects

}  // namespace lambda::shim

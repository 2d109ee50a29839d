#include "app.h"

#include <algorithm>
#include <csignal>
#include <random>

#include "audit/trail.h"
#include "auth/scope.h"
#include "auth/zc2.h"
#include "lambda/crypto/sealed.h"
#include "lambda/domain/command.h"
#include "lambda/domain/dialect_rules.h"
#include "lambda/domain/tags.h"
#include "lambda/json/json.h"
#include "lambda/log/log.h"
#include "lambda/redis/fan_out.h"
#include "lambda/redis/keys.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"
#include "lambda/uv/handle.h"
#include "routes/body.h"
#include "routes/dialects.h"
#include "routes/error_shape.h"
#include "routes/shape.h"
#include "ui.h"

namespace lambda::shim {
namespace {

constexpr std::string_view kUnauthorized =
    "Unauthorized. Request failed because user provided an invalid token.";

std::vector<std::pair<std::string, std::string>> Pairs(const redis::Value& v) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i + 1 < v.elements.size(); i += 2) {
    out.emplace_back(v.elements[i].str, v.elements[i + 1].str);
  }
  return out;
}

}  // namespace

App::App(uv_loop_t* loop, Config config)
    : loop_(loop), config_(std::move(config)), create_schema_(json::CreateRequestSchemaText()) {
  for (auto a : domain::kAllActions) {
    allowed_[static_cast<int>(a)] = domain::AllowedSet(domain::AllowedFrom(a));
  }
  DeclareMetrics();
}

App::~App() {
  revocation_.reset();
  server_.reset();
  hub_.reset();
  command_publisher_.reset();
  publisher_.reset();
  amqp_.reset();
  grouped_.reset();
  redis_.reset();
}

Status App::Start() {
  std::optional<crypto::ServerKey> server_key;
  if (!config_.server_key_file.empty()) {
    auto loaded = crypto::ServerKey::Load(config_.server_key_file);
    if (!loaded) return loaded.error();
    server_key.emplace(*loaded);
  }
  redis_ = redis::MakeClient(loop_, config_.redis);
  redis_->Start();
  auth_ = std::make_unique<Authenticator>(redis_.get(), config_.redis_prefix, config_.key_cache_ms,
                                          config_.key_stale_ms);
  access_keys_ = std::make_unique<AccessKeyAuthenticator>(
      redis_.get(), config_.redis_prefix, config_.key_cache_ms, std::move(server_key));
  idempotency_ = std::make_unique<idempotency::Store>(redis_.get(), config_.redis_prefix);
  grouped_ = std::make_unique<redis::GroupingClient>(loop_, *redis_, config_.redis_group_calls,
                                                     config_.redis.cluster);
  admission_store_ = std::make_unique<RedisAdmissionStore>(
      grouped_.get(), config_.redis_prefix, config_.history_max, config_.redis_wait_replicas,
      config_.redis_wait_timeout_ms);
  // Settlements Redis did not answer are retried from a timer, never from a Redis callback;
  // while Redis stays away none waits past its settle budget.
  settle_timer_ = std::make_unique<uv::Timer>(loop_);
  settle_timer_->Start(200, 200, [this] {
    parked_.Tick(redis_->connected(), static_cast<uint64_t>(util::NowMs()));
  });
  hub_ = std::make_unique<watch::Hub>(
      loop_, redis_.get(), config_.redis, config_.redis_prefix,
      watch::HubLimits{.max_watchers = config_.max_watchers,
                       .heartbeat_ms = config_.sse_heartbeat_ms,
                       .replay_max = static_cast<size_t>(config_.history_max)});
  hub_->OnChange([this](const watch::Notification& n) {
    auto status = domain::FromCode(n.status_code);
    if (status && !n.owner.empty()) {
      inflight_.OnStatus(n.owner, n.instance_id, domain::IsSettled(*status));
    }
  });
  hub_->Start();
  gate_ = std::make_unique<TenantGate>(
      redis_.get(), config_.redis_prefix,
      TenantGate::Options{config_.tenant_defaults, config_.address_rate, config_.address_burst,
                          std::max<uint64_t>(config_.key_cache_ms, 1000)});
  revocation_ = std::make_unique<KeyRevocation>(loop_, *auth_, *hub_,
                                                std::max<uint64_t>(config_.key_cache_ms, 500));
  revocation_->Start();
  amqp_ = std::make_unique<amqp::Connection>(loop_, config_.amqp, amqp::Connection::Options{});
  publisher_ = std::make_unique<amqp::ConfirmingPublisher>(*amqp_);
  command_publisher_ =
      std::make_unique<BatchingPublisher>(loop_, *publisher_, config_.max_commands_per_message);
  amqp_->Start();
  admission_ports_ = AdmissionPorts{
      admission_store_.get(),
      command_publisher_.get(),
      &parked_,
      [] { return static_cast<uint64_t>(util::NowMs()); },
      [] { return util::RandomToken(16); },
      [this](const std::string& instance_id) { MaybeCrashBeforePublish(instance_id); },
      &admission_counters_,
      config_.settle_budget_ms};
  server_ = std::make_unique<http::Server>(
      loop_, config_.http,
      [this](http::Request req, http::Responder respond) {
        Handle(std::move(req), std::move(respond));
      },
      [this](const http::Request& head, std::function<void(std::optional<http::Response>)> decide) {
        CheckHead(head, std::move(decide));
      },
      [](std::string_view path, int status, std::string_view text) {
        return routes::ErrorResponse(path, status, text, util::NewUuid());
      });
  if (auto st = server_->Listen(config_.host, config_.port, config_.reuse_port); !st) return st;
  log::Info("api-shim listening", {{"addr", config_.host + ":" + std::to_string(server_->port())}});
  return OkStatus();
}

void App::Shutdown(const std::function<void()>& done) {
  log::Info("api-shim shutting down",
            {{"in_flight", static_cast<unsigned long>(server_->in_flight())}});
  server_->StopAccepting();
  revocation_->Stop();
  hub_->Stop();  // held status requests answer now; event streams end
  shutdown_timer_ = std::make_unique<uv::Timer>(loop_);
  uint64_t deadline = static_cast<uint64_t>(util::NowMs()) + config_.shutdown_grace_ms;
  shutdown_timer_->Start(0, 20, [this, deadline, done] {
    bool idle = server_->in_flight() == 0 && command_publisher_->in_flight() == 0;
    if (!idle && static_cast<uint64_t>(util::NowMs()) < deadline) return;
    shutdown_timer_->Stop();
    settle_timer_->Stop();
    server_->StopAccepting();
    amqp_->Stop();
    redis_->Stop();
    log::Info("api-shim stopped");
    done();
  });
}

std::string App::BaseUrl(const http::Request& req) const {
  if (!config_.public_url.empty()) return config_.public_url;
  const auto* host = req.Header("host");
  return "http://" + (host ? *host : config_.host + ":" + std::to_string(server_->port()));
}

void App::Reply(Call& call, int status, std::string body,
                std::vector<std::pair<std::string, std::string>> headers) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.headers.emplace_back("X-Request-Id", call.request_id);
  call.respond(std::move(r));
}

void App::ReplyError(Call& call, int status, std::string_view detail) {
  Reply(call, status, routes::ErrorBody(status, detail));
}

void App::ReplyUnauthorized(Call& call) {
  const bool legacy = routes::ErrorShapeOf(call.req.path) == routes::ErrorShape::kLegacy;
  ReplyDialectError(call, 401, legacy ? "Invalid token" : kUnauthorized, {});
}

std::string App::NoteError(const Call& call, std::string_view detail) {
  std::string id = util::NewUuid();
  log::Warn("error hidden from the tenant", {{"error_id", id},
                                             {"request_id", call.request_id},
                                             {"tenant", call.tenant},
                                             {"path", call.req.path},
                                             {"error", detail}});
  return id;
}

void App::ReplyUnavailable(Call& call, std::string_view why) {
  std::string id = NoteError(call, why);
  std::string text = "Service temporarily unavailable; retry shortly (error id " + id + ").";
  Reply(call, 503, routes::ErrorResponse(call.req.path, 503, text, call.request_id),
        {{"Retry-After", "1"}, {"X-Error-Id", id}});
}

void App::ReplyBusy(Call& call, std::string_view reason) {
  std::string text = std::string("Service temporarily unavailable: ") + std::string(reason);
  Reply(call, 503, routes::ErrorResponse(call.req.path, 503, text, call.request_id),
        {{"Retry-After", "1"}});
}

void App::ReplyLimited(Call& call, const LimitRefusal& refusal) {
  ++counters_.rate_limited;
  ++counters_.limited[static_cast<int>(refusal.kind)];
  Reply(call, 429, routes::ErrorResponse(call.req.path, 429, LimitText(refusal), call.request_id),
        LimitHeaders(refusal));
}

void App::ReplyUnknown(Call& call, std::string_view why) {
  std::string id = NoteError(call, why);
  std::string text = "The outcome of this request is unknown (error id " + id +
                     "); read the instance's status before retrying.";
  ReplyDialectError(call, 504, text, {});
}

void App::Handle(http::Request req, http::Responder respond) {
  auto call = std::make_shared<Call>();
  call->match = routes::Match(req.method, req.path);
  call->request_id = routes::ClientRequestId(req).value_or(util::NewUuid());
  call->req = std::move(req);
  // Every answer, whoever gives it, is timed for its (route, status).
  call->respond = [this, route = call->match.route, started = uv_hrtime(),
                   respond = std::move(respond)](http::Response r) {
    ObserveHttp(route, r.status, started);
    respond(std::move(r));
  };
  if (routes::DialectOf(call->match.route) == routes::Dialect::kPublic ||
      call->match.route == routes::Route::kNotFound ||
      call->match.route == routes::Route::kMethodNotAllowed) {
    // The routes without a key: limited per client address.
    if (auto refused = gate_->AdmitAddress(call->req.peer)) return ReplyLimited(*call, *refused);
  }
  switch (call->match.route) {
    case routes::Route::kNotFound:
      return ReplyDialectError(*call, 404, "Not found.", {});
    case routes::Route::kMethodNotAllowed:
      return Reply(
          *call, 405,
          routes::ErrorResponse(call->req.path, 405, "Method not allowed.", call->request_id),
          {{"Allow", call->match.allow}});
    case routes::Route::kOptions:
      return Reply(*call, 204, {}, {{"Allow", call->match.allow}});
    case routes::Route::kHealthz:
      return Reply(*call, 200, R"({"status":"ok"})");
    case routes::Route::kReadyz: {
      bool r = redis_->connected(), a = amqp_->connected();
      std::string body = std::string(R"({"status":")") + (r && a ? "ready" : "not ready") +
                         R"(","redis":)" + (r ? "true" : "false") + R"(,"rabbitmq":)" +
                         (a ? "true" : "false") + "}";
      return Reply(*call, r && a ? 200 : 503, body);
    }
    case routes::Route::kMetrics: {
      http::Response r;
      r.status = 200;
      r.content_type = metrics::kContentType;
      r.body = metrics_.Text();
      return call->respond(std::move(r));
    }
    case routes::Route::kUi: {
      auto file = UiFile(call->req.path);
      if (!file) return ReplyError(*call, 404, "Not found.");
      return call->respond(std::move(*file));
    }
    case routes::Route::kOpenApi: {
      http::Response r;
      r.status = 200;
      r.content_type = "application/yaml";
      r.body = std::string(json::OpenApiText());
      return call->respond(std::move(r));
    }
    default:
      return Authenticate(call, [this, call] {
        gate_->Admit(
            call->tenant, RequestCost(call->match.route, call->req.body),
            [this, call](const domain::TenantLimits& limits, std::optional<LimitRefusal> refused) {
              call->limits = limits;
              if (refused) return ReplyLimited(*call, *refused);
              DispatchOnce(call);
            });
      });
  }
}

namespace {
/// A ZC2-HMAC-SHA256 signed request, without an API key, on the route that accepts signatures.
bool SignedOnZenlayer(const http::Request& req, routes::Route route) {
  return routes::DialectOf(route) == routes::Dialect::kZenlayer && zc2::IsSigned(req) &&
         routes::ExtractApiKey(req).empty();
}
}  // namespace

void App::CheckHead(const http::Request& head,
                    std::function<void(std::optional<http::Response>)> decide) {
  // The head as a call of its own whose answer, if any, is the final response: the same routing,
  // key check and error shapes as the full request will meet, before its body is sent.
  auto call = std::make_shared<Call>();
  call->match = routes::Match(head.method, head.path);
  call->request_id = routes::ClientRequestId(head).value_or(util::NewUuid());
  call->req.method = head.method;
  call->req.path = head.path;
  call->req.headers = head.headers;
  auto shared_decide =
      std::make_shared<std::function<void(std::optional<http::Response>)>>(std::move(decide));
  call->respond = [shared_decide](http::Response r) { (*shared_decide)(std::move(r)); };
  switch (call->match.route) {
    case routes::Route::kNotFound:
    case routes::Route::kMethodNotAllowed:
      return Handle(std::move(call->req), call->respond);
    default:
      break;
  }
  if (routes::IsPublic(call->match.route)) return (*shared_decide)(std::nullopt);
  // A signature covers the body: a signed request is checked once its body is here.
  if (SignedOnZenlayer(head, call->match.route)) return (*shared_decide)(std::nullopt);
  Authenticate(call, [shared_decide] { (*shared_decide)(std::nullopt); });
}

void App::Authenticate(const std::shared_ptr<Call>& call, std::function<void()> then) {
  auto checked = [this, call, then = std::move(then)](Result<std::optional<KeyIdentity>> who) {
    if (!who) return ReplyUnavailable(*call, who.error().message);
    if (!*who) {
      // A request whose key does not check is one without a key: limited per address (a key
      // guesser is slowed down), then 401.
      if (auto refused = gate_->AdmitAddress(call->req.peer)) return ReplyLimited(*call, *refused);
      return ReplyUnauthorized(*call);
    }
    const KeyIdentity& key = **who;
    call->tenant = key.tenant;
    call->audit = {key.key_id, key.name, call->req.peer,
                   std::string(audit::DialectName(routes::DialectOf(call->match.route)))};
    // Outside its scope: refused before anything is read or changed.
    const auto need = ScopeNeeded(call->match.route, call->req);
    if (!domain::Permits(key.scope, need)) {
      return ReplyDialectError(*call, 403, ScopeRefusalText(key.scope, need), {});
    }
    then();
  };
  std::string key = routes::ExtractApiKey(call->req);
  if (key.empty() && SignedOnZenlayer(call->req, call->match.route)) {
    return access_keys_->Identify(call->req, checked);
  }
  auth_->Identify(key, checked);
}

void App::ReplyDialectError(Call& call, int status, std::string_view text, std::string_view code) {
  Reply(call, status, routes::ErrorResponse(call.req.path, status, text, call.request_id, code));
}

void App::DispatchOnce(const std::shared_ptr<Call>& call) {
  const std::string* header = call->req.Header("idempotency-key");
  if (header == nullptr || !idempotency::Applies(call->req.method)) return Dispatch(call);
  if (auto st = idempotency::ValidateKey(*header); !st) {
    return ReplyDialectError(*call, 400, st.error().message, "INVALID_PARAMETER");
  }
  std::string key = *header;
  std::string fp = idempotency::Fingerprint(call->req);
  idempotency_->Start(
      call->tenant, key, fp, [this, call, key, fp](Result<idempotency::Begin> begin) {
        if (!begin) return ReplyUnavailable(*call, begin.error().message);
        switch (begin->kind) {
          case idempotency::Begin::Kind::kReplay: {
            auto body = idempotency::AnswerBody(begin->previous, call->req.body);
            if (!body) return ReplyUnavailable(*call, "unreadable idempotency record");
            ++counters_.idempotent_replays;
            http::Response r;
            r.status = begin->previous.status;
            r.content_type = begin->previous.content_type;
            r.body = std::move(*body);
            r.headers = {{"X-Request-Id", call->request_id}, {"Idempotent-Replayed", "true"}};
            return call->respond(std::move(r));
          }
          case idempotency::Begin::Kind::kNotKept:
            return ReplyDialectError(
                *call, 409,
                "The request with this Idempotency-Key was done (answered " +
                    std::to_string(begin->previous.status) +
                    ") and is not done again; its answer was too large to keep. Read the "
                    "current state instead.",
                "IDEMPOTENCY_ANSWER_NOT_KEPT");
          case idempotency::Begin::Kind::kInProgress:
            return ReplyDialectError(
                *call, 409,
                "A request with this Idempotency-Key is still in progress; retry it shortly.",
                "IDEMPOTENCY_KEY_IN_USE");
          case idempotency::Begin::Kind::kMismatch:
            return ReplyDialectError(*call, 422,
                                     "This Idempotency-Key was used with another request; a new "
                                     "request needs a new key.",
                                     "IDEMPOTENCY_KEY_MISMATCH");
          case idempotency::Begin::Kind::kNew:
            break;
        }
        // Keep the answer (or free the key) as it goes out.
        auto inner = std::move(call->respond);
        std::weak_ptr<Call> weak = call;  // the call holds this callback
        call->respond = [this, tenant = call->tenant, key, fp, weak,
                         inner = std::move(inner)](http::Response r) {
          auto alive = weak.lock();
          idempotency_->Finish(tenant, key, fp, alive ? alive->req.body : std::string_view(), r);
          inner(std::move(r));
        };
        Dispatch(call);
      });
}

void App::Dispatch(const std::shared_ptr<Call>& call) {
  switch (routes::DialectOf(call->match.route)) {
    case routes::Dialect::kLegacy:
      return dialects::Legacy(*this, call);
    case routes::Dialect::kZenlayer:
      return dialects::Zenlayer(*this, call);
    case routes::Dialect::kFeldera:
      return dialects::Feldera(*this, call);
    default:
      return dialects::Service(*this, call);
  }
}

void App::Create(const std::shared_ptr<Call>& call, const std::function<void(Creation)>& done) {
  json::Document doc;
  if (auto st = json::Parse(call->req.body, &doc); !st) {
    return done(Creation{Creation::Kind::kInvalid, {}, {st.error().message}, {}});
  }
  if (auto problems = create_schema_.Validate(doc); !problems.empty()) {
    return done(Creation{Creation::Kind::kInvalid, {}, std::move(problems), {}});
  }
  std::vector<std::string> control;
  for (const char* field : {"instance_name", "master_name", "project_name", "public_key_name"}) {
    auto it = doc.FindMember(field);
    if (it != doc.MemberEnd() && it->value.IsString() &&
        routes::HasControlCharacter({it->value.GetString(), it->value.GetStringLength()}))
      control.push_back(std::string(field) + ": must not contain control characters");
  }
  if (!control.empty()) return done(Creation{Creation::Kind::kInvalid, {}, std::move(control), {}});
  domain::Tags tags;
  if (auto it = doc.FindMember("tags"); it != doc.MemberEnd()) {
    auto parsed = domain::ParseTags(it->value);
    if (!parsed) return done(Creation{Creation::Kind::kInvalid, {}, {parsed.error().message}, {}});
    tags = std::move(*parsed);
  }
  // Failure injection is the simulated cloud's: a real provider must never be asked to fake one.
  if (config_.provider != "sim" && doc.HasMember("simulate")) {
    return done(Creation{
        Creation::Kind::kInvalid, {}, {"simulate is only accepted by the simulated provider"}, {}});
  }
  AdmitPlan plan;
  plan.kind = AdmitPlan::Kind::kCreate;
  plan.action = domain::Action::kCreate;
  plan.ids = {util::NewUuid()};
  plan.tenant = call->tenant;
  plan.request_id = call->request_id;
  plan.audit = call->audit;
  plan.name = std::string(doc["instance_name"].GetString(), doc["instance_name"].GetStringLength());
  plan.max_instances = call->limits.max_instances;
  plan.tags = std::move(tags);
  doc.RemoveMember("tags");  // kept beside the instance (SPEC §4.5), not in its spec
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  doc.Accept(w);
  plan.info_json = std::string(json::View(sb));
  auto create_done = [done](const AdmissionOutcome& o) {
    switch (o.kind) {
      case AdmissionOutcome::Kind::kAccepted:
        return done(Creation{Creation::Kind::kAccepted, o.id, {}, {}});
      case AdmissionOutcome::Kind::kUnknown:
        return done(Creation{Creation::Kind::kUnknown, o.id, {}, o.error});
      case AdmissionOutcome::Kind::kOverQuota:
        return done(Creation{Creation::Kind::kOverQuota, {}, {}, {}, o.limit, o.limit_kind});
      default:
        return done(Creation{Creation::Kind::kUnavailable, {}, {}, o.error});
    }
  };
  if (!MayAdmit(*call, 1, create_done)) return;
  Admission::Start(admission_ports_, std::move(plan),
                   [this, call, create_done](const AdmissionOutcome& o) {
                     Admitted(call->tenant, o, {o.id});
                     Audited(*call, domain::Action::kCreate, o, {o.id});
                     create_done(o);
                   });
}

void App::Admit(const std::shared_ptr<Call>& call, const std::string& id, domain::Action action,
                const std::string& allowed, const std::string& mode,
                const std::function<void(AdmissionOutcome)>& done) {
  if (!util::IsUuid(id))
    return done(AdmissionOutcome{AdmissionOutcome::Kind::kNotFound, {}, id, {}});
  AdmitPlan plan;
  plan.kind = AdmitPlan::Kind::kOne;
  plan.action = action;
  plan.ids = {id};
  plan.tenant = call->tenant;
  plan.request_id = call->request_id;
  plan.allowed = allowed;
  plan.mode = mode;
  plan.audit = call->audit;
  if (!MayAdmit(*call, 1, done)) return;
  Admission::Start(admission_ports_, std::move(plan),
                   [this, call, action, id, done](const AdmissionOutcome& o) {
                     Admitted(call->tenant, o, {id});
                     Audited(*call, action, o, {id});
                     done(o);
                   });
}

void App::AdmitMany(const std::shared_ptr<Call>& call, const std::vector<std::string>& ids,
                    domain::Action action, const std::string& allowed,
                    const std::function<void(AdmissionOutcome)>& done) {
  for (const auto& id : ids) {
    if (!util::IsUuid(id))
      return done(AdmissionOutcome{AdmissionOutcome::Kind::kNotFound, {}, id, {}});
  }
  AdmitPlan plan;
  plan.kind = AdmitPlan::Kind::kMany;
  plan.action = action;
  plan.ids = ids;
  plan.tenant = call->tenant;
  plan.request_id = call->request_id;
  plan.allowed = allowed;
  plan.audit = call->audit;
  if (!MayAdmit(*call, ids.size(), done)) return;
  Admission::Start(admission_ports_, std::move(plan),
                   [this, call, action, ids, done](const AdmissionOutcome& o) {
                     Admitted(call->tenant, o, ids);
                     Audited(*call, action, o, ids);
                     done(o);
                   });
}

bool App::MayAdmit(const Call& call, size_t n, const std::function<void(AdmissionOutcome)>& done) {
  const auto max = static_cast<size_t>(std::max<int64_t>(0, call.limits.max_inflight));
  if (inflight_.Count(call.tenant) + n <= max) return true;
  AdmissionOutcome refused{AdmissionOutcome::Kind::kOverQuota, {}, {}, {}, call.limits.max_inflight,
                           LimitRefusal::Kind::kInflight};
  done(refused);
  return false;
}

void App::Admitted(const std::string& tenant, const AdmissionOutcome& o,
                   const std::vector<std::string>& ids) {
  if (o.kind != AdmissionOutcome::Kind::kAccepted) return;
  for (const auto& id : ids) inflight_.OnStatus(tenant, id, false);
}

void App::Audited(const Call& call, domain::Action action, const AdmissionOutcome& o,
                  const std::vector<std::string>& ids) {
  if (o.kind != AdmissionOutcome::Kind::kAccepted) return;
  // After the admission (its history entry holds the same fields atomically): not awaited, and a
  // shim that dies in between leaves the action out of the trail, never a refused one in it.
  const int64_t now = util::NowMs();
  for (const auto& id : ids) {
    redis_->Command(audit::RecordCommand(config_.redis_prefix, call.tenant, call.audit,
                                         domain::ActionName(action), id, call.request_id, now),
                    [](const Result<redis::Value>&) {});
  }
}

void App::ReadAudit(const std::string& tenant, const std::string& start, int64_t count,
                    redis::Callback done) {
  redis_->Command({"XRANGE", redis::keys::TenantAudit(config_.redis_prefix, tenant), start, "+",
                   "COUNT", std::to_string(count)},
                  std::move(done));
}

void App::MaybeCrashBeforePublish(const std::string& instance_id) const {
  if (config_.fault_crash_after_admit_permille <= 0) return;
  thread_local std::mt19937 rng{std::random_device{}()};
  if (static_cast<int>(rng() % 1000) < config_.fault_crash_after_admit_permille) {
    log::Warn("fault injection: dying between admission and publish",
              {{"instance_id", instance_id}});
    raise(SIGKILL);
  }
}

void App::Read(const std::shared_ptr<Call>& call, const std::string& id,
               const std::function<void(Result<std::optional<routes::InstanceRecord>>)>& done,
               bool status_only) {
  if (!util::IsUuid(id)) return done(std::optional<routes::InstanceRecord>{});
  // A status read fetches five small fields, not the stored spec and servers (reads are hot).
  static const std::vector<std::string> kStatusFields{"id", "name", "owner", "status",
                                                      "failure_message"};
  std::vector<std::string> argv{status_only ? "HMGET" : "HGETALL",
                                redis::keys::Instance(config_.redis_prefix, id)};
  if (status_only) argv.insert(argv.end(), kStatusFields.begin(), kStatusFields.end());
  redis_->Command(argv, [call, done, status_only](Result<redis::Value> r) {
    if (!r || r->is_error()) return done(Error{Code::kUnavailable, r ? r->str : r.error().message});
    std::vector<std::pair<std::string, std::string>> fields;
    if (status_only) {
      for (size_t i = 0; i < kStatusFields.size() && i < r->elements.size(); ++i) {
        if (!r->elements[i].is_nil()) fields.emplace_back(kStatusFields[i], r->elements[i].str);
      }
    } else {
      fields = Pairs(*r);
    }
    auto rec = routes::RecordFromHash(fields);
    // Another tenant's instance reads exactly as a missing one.
    if (!rec || rec->owner != call->tenant) return done(std::optional<routes::InstanceRecord>{});
    done(std::move(rec));
  });
}

void App::ResolveId(const std::string& raw, const std::function<void(Result<std::string>)>& done) {
  if (util::IsUuid(raw)) return done(raw);
  auto seq = util::ParseInt(raw);
  if (!seq || *seq <= 0) return done(std::string());
  redis_->Command({"HGET", redis::keys::SeqMap(config_.redis_prefix), raw},
                  [done](Result<redis::Value> r) {
                    if (!r || r->is_error())
                      return done(Error{Code::kUnavailable, r ? r->str : r.error().message});
                    done(r->is_nil() ? std::string() : r->str);
                  });
}

}  // namespace lambda::shim

namespace lambda::shim {

void App::CountLive(const std::string& tenant, const std::function<void(Result<int64_t>)>& done) {
  redis_->Command({"ZCARD", redis::keys::TenantLive(config_.redis_prefix, tenant)},
                  [done](Result<redis::Value> r) {
                    if (!r || r->is_error()) {
                      return done(Error{Code::kUnavailable, r ? r->str : r.error().message});
                    }
                    done(r->AsInt());
                  });
}

void App::RunScript(const redis::Script& script, std::vector<std::string> keys,
                    std::vector<std::string> argv, redis::Callback done) {
  redis_->EvalSha(script, keys, std::move(argv), std::move(done));
}

void App::ReadHistory(const std::string& id, bool reverse, std::vector<std::string> range,
                      redis::Callback done) {
  if (!util::IsUuid(id)) return done(redis::Value{redis::Value::Type::kArray, {}, 0, {}});
  std::vector<std::string> argv{reverse ? "XREVRANGE" : "XRANGE",
                                redis::keys::History(config_.redis_prefix, id)};
  argv.insert(argv.end(), std::make_move_iterator(range.begin()),
              std::make_move_iterator(range.end()));
  redis_->Command(argv, std::move(done));
}

void App::ReadPage(const std::string& tenant, bool live, int64_t start, int64_t stop,
                   std::vector<std::string> fields, std::function<void(Result<IndexPage>)> done) {
  // The index is in the tenant's slot and each instance in its own: the page, then its rows.
  const redis::args::Page page{config_.redis_prefix, tenant, live, start, stop};
  redis_->EvalSha(
      redis::scripts::Page(), page.Keys(), page.Argv(),
      [this, fields = std::move(fields), done = std::move(done)](Result<redis::Value> r) {
        if (!r || r->is_error() || r->elements.empty()) {
          return done(Error{Code::kUnavailable, r ? r->str : r.error().message});
        }
        auto out = std::make_shared<IndexPage>();
        out->total = r->elements[0].AsInt();
        for (size_t i = 1; i < r->elements.size(); ++i) out->ids.push_back(r->elements[i].str);
        ReadEach(out->ids, fields, [out, done](Result<std::vector<redis::Value>> rows) {
          if (!rows) return done(rows.error());
          IndexPage kept{out->total, {}, {}};
          for (size_t i = 0; i < rows->size(); ++i) {
            const auto& f = (*rows)[i].elements;
            bool gone =
                std::all_of(f.begin(), f.end(), [](const redis::Value& v) { return v.is_nil(); });
            if (gone) continue;
            kept.ids.push_back(out->ids[i]);
            kept.fields.push_back(std::move((*rows)[i]));
          }
          done(std::move(kept));
        });
      });
}

void App::ReadEach(std::vector<std::string> ids, std::vector<std::string> fields,
                   std::function<void(Result<std::vector<redis::Value>>)> done) {
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const auto& id : ids) keys.push_back(redis::keys::Instance(config_.redis_prefix, id));
  redis::HmgetEach(*redis_, keys, fields, std::move(done));
}

}  // namespace lambda::shim

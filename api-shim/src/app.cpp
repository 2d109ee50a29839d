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

}  // namespace lambda::shim

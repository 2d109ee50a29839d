#include "health/health.h"

#include "lambda/http/router.h"
#include "lambda/metrics/metrics.h"

namespace lambda::worker {
namespace {

enum class Route { kHealthz, kReadyz, kMetrics };

const http::Router& TheRouter() {
  static const http::Router router({{"GET", "/healthz", static_cast<int>(Route::kHealthz)},
                                    {"GET", "/readyz", static_cast<int>(Route::kReadyz)},
                                    {"GET", "/metrics", static_cast<int>(Route::kMetrics)}});
  return router;
}

const char* Bool(bool b) { return b ? "true" : "false"; }

}  // namespace

http::Response HealthResponse(std::string_view method, std::string_view path,
                              const HealthView& view) {
  http::Response r;
  auto m = TheRouter().Match(method, path);
  switch (m.kind) {
    case http::PathMatch::Kind::kNotFound:
      r.status = 404;
      r.body = R"({"errors":[{"status":404,"detail":"Not found."}]})";
      return r;
    case http::PathMatch::Kind::kMethodNotAllowed:
      r.status = 405;
      r.body = R"({"errors":[{"status":405,"detail":"Method not allowed."}]})";
      r.headers.emplace_back("Allow", m.allow);
      return r;
    case http::PathMatch::Kind::kOptions:
      r.status = 204;
      r.headers.emplace_back("Allow", m.allow);
      return r;
    case http::PathMatch::Kind::kFound:
      break;
  }
  switch (static_cast<Route>(m.route)) {
    case Route::kHealthz:
      r.body = R"({"status":"ok"})";
      break;
    case Route::kReadyz: {
      bool ok = view.redis_up && view.amqp_up;
      r.status = ok ? 200 : 503;
      r.body = std::string(R"({"status":")") + (ok ? "ready" : "not ready") + R"(","redis":)" +
               Bool(view.redis_up) + R"(,"rabbitmq":)" + Bool(view.amqp_up) + "}";
      break;
    }
    case Route::kMetrics:
      r.content_type = metrics::kContentType;
      r.body = view.metrics_text ? view.metrics_text() : std::string();
      break;
  }
  return r;
}

}  // namespace lambda::worker

#pragma once
/// The api-shim's core: authenticates, admits in Redis, publishes with confirms, answers.
/// Thread: loop only. Owns the Redis client, the AMQP connection and the HTTP server.
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "config.h"
#include "http/router.h"
#include "http/server.h"
#include "lambda/amqp/connection.h"
#include "lambda/domain/status.h"
#include "lambda/json/json.h"
#include "lambda/redis/async_client.h"
#include "lambda/uv/handle.h"

namespace lambda::shim {

/// Per-request context handed to route handlers.
struct Call {
  http::Request req;
  http::Responder respond;
  std::string request_id;
  std::string tenant;
  http::RouteMatch match;
};

class App {
 public:
  App(uv_loop_t* loop, Config config);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  Status Start();
  /// Stops accepting, lets in-flight requests finish (bounded by the grace period), then
  /// closes Redis and RabbitMQ; `done` runs when nothing is left.
  void Shutdown(std::function<void()> done);
  int port() const { return server_->port(); }

 private:
  void Handle(http::Request req, http::Responder respond);
  void Authenticate(std::shared_ptr<Call> call);
  void Dispatch(std::shared_ptr<Call> call);

  void Create(std::shared_ptr<Call> call);
  void Transition(std::shared_ptr<Call> call, domain::Action action);
  void Publish(std::shared_ptr<Call> call, const std::string& instance_id, domain::Action action,
               int64_t gen, std::function<void()> on_confirmed);
  void List(std::shared_ptr<Call> call);
  void Count(std::shared_ptr<Call> call);
  void Details(std::shared_ptr<Call> call, bool status_only);

  void Reply(Call& call, int status, std::string body);
  void ReplyError(Call& call, int status, std::string_view detail);
  void ReplyUnavailable(Call& call, std::string_view why);
  std::string Key(std::string_view kind, std::string_view id) const;
  std::string BaseUrl(const http::Request& req) const;
  std::string Metrics() const;

  uv_loop_t* loop_;
  Config config_;
  json::Schema create_schema_;
  std::unique_ptr<redis::AsyncClient> redis_;
  std::unique_ptr<amqp::Connection> amqp_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<uv::Timer> shutdown_timer_;
  struct CachedKey {
    std::string tenant;
    uint64_t expires_ms;
  };
  std::unordered_map<std::string, CachedKey> key_cache_;
  std::map<std::string, uint64_t> counters_;
  std::string allowed_[4];  ///< per action: ",1,9," from the domain table, for admit.lua
};

}  // namespace lambda::shim

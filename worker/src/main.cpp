// worker: consumes action commands and performs them through a provider (SPEC §1, §5, §6).
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string_view>

#include "config.h"
#include "consumer/consumer.h"
#include "health/health.h"
#include "health/metrics.h"
#include "lambda/amqp/connection.h"
#include "lambda/amqp/consumer.h"
#include "lambda/amqp/publisher.h"
#include "lambda/app/run.h"
#include "lambda/http/server.h"
#include "lambda/log/log.h"
#include "lambda/redis/async_client.h"
#include "lambda/redis/cluster_client.h"
#include "lambda/redis/grouping_client.h"
#include "lambda/util/util.h"
#include "lambda/uv/handle.h"
#include "providers/hooks/hooked_provider.h"
#include "providers/libvirt/libvirt_provider.h"
#include "providers/openstack/openstack_provider.h"
#include "providers/sim/sim_provider.h"
#include "reconciler/reconciler.h"

namespace {

using namespace lambda;

/// The worker process: one loop, one Redis client, one AMQP connection, one provider.
class WorkerApp {
 public:
  WorkerApp(uv_loop_t* loop, const worker::Config& config)
      : loop_(loop),
        config_(config),
        redis_(redis::MakeClient(loop, config.redis)),
        grouped_(loop, *redis_, config.redis_group_calls, config.redis.cluster),
        sim_cloud_redis_(config.sim_cloud_redis ? redis::MakeClient(loop, *config.sim_cloud_redis)
                                                : nullptr),
        cloud_(
            MakeProvider(loop, config, sim_cloud_redis_ ? sim_cloud_redis_.get() : redis_.get())),
        hooks_(loop, config.hooks),
        provider_(cloud_.get(), &hooks_),
        ledger_(redis_.get(), config.redis_prefix, config.ledger_max),
        consumer_(worker::JobContext{loop, &grouped_, &provider_, &ledger_, config.redis_prefix,
                                     config.worker_id, config.lease_ms, config.history_max,
                                     config.max_op_attempts, config.op_backoff_ms,
                                     config.op_backoff_max_ms},
                  config.consumer),
        reconciler_(loop, redis_.get(), config.reconciler, config.redis_prefix, config.worker_id,
                    config.history_max),
        events_(loop, config.redis),
        shutdown_timer_(loop) {
    worker::DeclareWorkerMetrics(metrics_,
                                 {&consumer_.counters(), &reconciler_.counters(),
                                  [this] { return static_cast<double>(consumer_.in_flight()); },
                                  [this] { return redis_->connected() ? 1.0 : 0.0; },
                                  [this] { return amqp_ && amqp_->connected() ? 1.0 : 0.0; },
                                  [this] { return static_cast<double>(consumer_.held()); }});
  }

  Status Start() {
    redis_->Start();
    // Every admission and status write is published "<id> <status> <gen> …": a job here for an
    // older gen is superseded and interrupted at once, not at its next lease renewal.
    events_.Subscribe(
        config_.redis_prefix + "events",
        [this](std::string_view m) {
          auto sp1 = m.find(' ');
          auto sp2 = sp1 == std::string_view::npos ? sp1 : m.find(' ', sp1 + 1);
          if (sp2 == std::string_view::npos) return;
          auto sp3 = m.find(' ', sp2 + 1);
          auto gen_text = m.substr(sp2 + 1, sp3 == std::string_view::npos ? sp3 : sp3 - sp2 - 1);
          int64_t gen = 0;
          for (char ch : gen_text) {
            if (ch < '0' || ch > '9') return;
            gen = gen * 10 + (ch - '0');
          }
          consumer_.OnInstanceEvent(m.substr(0, sp1), gen);
        },
        [](bool) {});
    events_.Start();
    if (sim_cloud_redis_) sim_cloud_redis_->Start();
    amqp_ = std::make_unique<amqp::Connection>(loop_, config_.amqp,
                                               amqp::Connection::Options{true, nullptr});
    publisher_ = std::make_unique<amqp::ConfirmingPublisher>(*amqp_);
    deliveries_ = std::make_unique<amqp::Consumer>(
        *amqp_, [this](amqp::Delivery d) { consumer_.OnDelivery(std::move(d)); });
    consumer_.Attach(publisher_.get(), deliveries_.get());
    reconciler_.Attach(publisher_.get());
    reconciler_.Start();
    http_ = std::make_unique<http::Server>(
        loop_, http::ServerLimits{},
        [this](const http::Request& req, const http::Responder& r) { Health(req, r); });
    if (auto st = http_->Listen(config_.http_host, config_.http_port); !st) return st;
    log::Info("worker started", {{"worker", config_.worker_id},
                                 {"http", config_.http_host + ":" + std::to_string(http_->port())},
                                 {"provider", config_.provider}});
    amqp_->Start();
    return OkStatus();
  }

  /// What /readyz says, once Start has run: Redis connected and the broker's consume channel open.
  bool Ready() const { return amqp_ && redis_->connected() && amqp_->connected(); }

  void Shutdown(const std::function<void()>& done) {
    log::Info("worker shutting down",
              {{"worker", config_.worker_id},
               {"in_flight", static_cast<unsigned long>(consumer_.in_flight())}});
    consumer_.StopIntake();
    reconciler_.Stop();
    deliveries_->Cancel();
    uint64_t deadline = static_cast<uint64_t>(util::NowMs()) + config_.shutdown_grace_ms;
    shutdown_timer_.Start(0, 20, [this, deadline, done] {
      if (consumer_.in_flight() > 0 && static_cast<uint64_t>(util::NowMs()) < deadline) return;
      shutdown_timer_.Stop();
      if (consumer_.in_flight() > 0) {
        log::Warn("grace period over; unfinished commands return to the queue",
                  {{"in_flight", static_cast<unsigned long>(consumer_.in_flight())}});
      }
      http_->StopAccepting();
      amqp_->Stop();  // unacked deliveries are requeued by the broker
      redis_->Stop();
      events_.Stop();
      if (sim_cloud_redis_) sim_cloud_redis_->Stop();
      done();
    });
  }

 private:
  void Health(const http::Request& req, const http::Responder& respond) {
    worker::HealthView view{redis_->connected(), amqp_->connected(), consumer_.in_flight(),
                            [this] { return metrics_.Text(); }};
    respond(worker::HealthResponse(req.method, req.path, view));
  }

  static std::unique_ptr<worker::Provider> MakeProvider(uv_loop_t* loop,
                                                        const worker::Config& config,
                                                        redis::Client* redis) {
    if (config.provider == "libvirt")
      return std::make_unique<worker::libvirt::LibvirtProvider>(loop, config.libvirt);
    if (config.provider == "openstack")
      return std::make_unique<worker::openstack::OpenStackProvider>(loop, config.openstack);
    return std::make_unique<worker::SimProvider>(loop, config.sim, redis, config.redis_prefix);
  }

  uv_loop_t* loop_;
  const worker::Config& config_;
  std::unique_ptr<redis::LiveClient> redis_;  ///< one server, or a Redis Cluster
  redis::GroupingClient grouped_;             ///< over redis_: the jobs' and claims' script calls
  std::unique_ptr<redis::LiveClient> sim_cloud_redis_;  ///< --sim-cloud-redis-url, if given
  std::unique_ptr<worker::Provider> cloud_;
  worker::HookRunner hooks_;
  worker::HookedProvider provider_;
  worker::Ledger ledger_;
  worker::Consumer consumer_;
  worker::Reconciler reconciler_;
  redis::AsyncClient events_;  ///< subscribed to the status channel (supersession)
  metrics::Exposition metrics_;
  // Declared after what they feed (and destroyed before it): deliveries and confirms stop
  // before the consumer and reconciler go.
  std::unique_ptr<amqp::Connection> amqp_;
  std::unique_ptr<amqp::ConfirmingPublisher> publisher_;
  std::unique_ptr<amqp::Consumer> deliveries_;
  std::unique_ptr<http::Server> http_;
  uv::Timer shutdown_timer_;
};

}  // namespace

int main(int argc, char** argv) {
  return app::Run<WorkerApp>("worker", argc, argv, worker::LoadConfig);
}

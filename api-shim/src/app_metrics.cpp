// The api-shim's /metrics: every family declared at start-up (counters at 0), read on the loop.
#include "app.h"

namespace lambda::shim {

void App::DeclareMetrics() {
  using metrics::Series;
  auto count = [](const uint64_t* v) {
    return std::vector<Series>{{{}, [v] { return static_cast<double>(*v); }}};
  };
  const auto& a = admission_counters_;
  metrics_.Counter("lambda_publishes_confirmed_total", "Commands the broker confirmed.",
                   count(&a.publishes_confirmed));
  metrics_.Counter("lambda_publishes_failed_total",
                   "Publishes nacked, returned, timed out or lost with their connection.",
                   count(&a.publishes_failed));
  metrics_.Counter("lambda_admissions_undone_total",
                   "Admissions undone because their publish failed (answered 503).",
                   count(&a.undone));
  metrics_.Counter("lambda_admissions_reply_lost_total",
                   "Admissions whose Redis reply was lost (answered 503, undone by token).",
                   count(&a.reply_lost));
  metrics_.Counter("lambda_admissions_unsettled_total",
                   "Admissions Redis could not be told the outcome of in time (answered 504).",
                   count(&a.unsettled));
  auto sent = [this](uint64_t (BatchingPublisher::*read)() const) {
    return std::vector<Series>{{{}, [this, read] {
                                  return command_publisher_
                                             ? static_cast<double>((*command_publisher_.*read)())
                                             : 0.0;
                                }}};
  };
  metrics_.Counter("lambda_command_messages_total",
                   "Messages the commands of admissions were sent in (several per message when "
                   "admitted in the same loop iteration).",
                   sent(&BatchingPublisher::messages_sent));
  metrics_.Counter("lambda_commands_sent_total", "Commands of admissions sent to the broker.",
                   sent(&BatchingPublisher::commands_sent));
  auto grouped = [this](uint64_t (redis::GroupingClient::*read)() const) {
    return std::vector<Series>{
        {{}, [this, read] { return grouped_ ? static_cast<double>((*grouped_.*read)()) : 0.0; }}};
  };
  metrics_.Counter("lambda_redis_script_groups_total",
                   "EVALSHA calls the admission scripts were sent in (group commit).",
                   grouped(&redis::GroupingClient::groups_sent));
  metrics_.Counter("lambda_redis_script_calls_total", "Admission script calls sent to Redis.",
                   grouped(&redis::GroupingClient::calls_sent));
  metrics_.Counter("lambda_rate_limited_total",
                   "Requests refused by a tenant's or an address's limits (429).",
                   count(&counters_.rate_limited));
  // Usage per tenant without a label per tenant: refusals by kind, and the most any one tenant
  // holds (a tenant near its cap shows here whoever it is).
  std::vector<Series> by_kind;
  for (int k = 0; k < kLimitRefusalKinds; ++k) {
    const auto kind = static_cast<LimitRefusal::Kind>(k);
    by_kind.push_back({{{"kind", std::string(KindName(kind))}},
                       [this, k] { return static_cast<double>(counters_.limited[k]); }});
  }
  metrics_.Counter("lambda_limit_refusals_total",
                   "Requests refused (429) by kind: rate (a tenant's token bucket), address (the "
                   "routes without a key), instances (the quota of live instances), watchers "
                   "(a tenant's cap of held waits and streams).",
                   std::move(by_kind));
  metrics_.Counter("lambda_idempotent_replays_total",
                   "Requests answered from an earlier answer with the same Idempotency-Key.",
                   count(&counters_.idempotent_replays));
  auto gauge = [](std::function<double()> read) {
    return std::vector<Series>{{{}, std::move(read)}};
  };
  metrics_.Gauge("lambda_http_connections", "Open client connections.", gauge([this] {
                   return server_ ? static_cast<double>(server_->connections()) : 0.0;
                 }));
  metrics_.Gauge("lambda_http_in_flight", "Requests being answered.", gauge([this] {
                   return server_ ? static_cast<double>(server_->in_flight()) : 0.0;
                 }));
  metrics_.Gauge(
      "lambda_amqp_unconfirmed", "Publishes waiting for the broker's confirm.",
      gauge([this] { return publisher_ ? static_cast<double>(publisher_->in_flight()) : 0.0; }));
  metrics_.Gauge("lambda_redis_pending", "Redis commands waiting for their reply.",
                 gauge([this] { return redis_ ? static_cast<double>(redis_->pending()) : 0.0; }));
  metrics_.Gauge("lambda_admissions_parked",
                 "Admissions waiting for Redis to answer their confirm or undo.",
                 gauge([this] { return static_cast<double>(parked_.size()); }));
  metrics_.Gauge("lambda_redis_up", "1 while the Redis command connection is up.",
                 gauge([this] { return redis_ && redis_->connected() ? 1.0 : 0.0; }));
  metrics_.Gauge("lambda_amqp_up", "1 while the RabbitMQ connection is up.",
                 gauge([this] { return amqp_ && amqp_->connected() ? 1.0 : 0.0; }));
  metrics_.Gauge("lambda_watch_waiters", "Status requests held until a wanted status.",
                 gauge([this] { return hub_ ? static_cast<double>(hub_->waiters()) : 0.0; }));
  metrics_.Gauge("lambda_watch_streams", "Open event streams (Server-Sent Events).",
                 gauge([this] { return hub_ ? static_cast<double>(hub_->streams()) : 0.0; }));
  metrics_.Gauge("lambda_watch_tenant_max",
                 "Held waits and streams of the tenant that holds the most on this shim.",
                 gauge([this] { return hub_ ? static_cast<double>(hub_->MostHeld()) : 0.0; }));
  metrics_.Gauge(
      "lambda_watch_tenants", "Tenants holding waits or streams on this shim.",
      gauge([this] { return hub_ ? static_cast<double>(hub_->tenants_watching()) : 0.0; }));
  metrics_.Gauge(
      "lambda_watch_tenant_streams", "Open event streams of a whole tenant (the dashboard's).",
      gauge([this] { return hub_ ? static_cast<double>(hub_->tenant_streams()) : 0.0; }));
  metrics_.Gauge("lambda_watch_subscribed", "1 while the status channel is subscribed.",
                 gauge([this] { return hub_ && hub_->ready() ? 1.0 : 0.0; }));
  http_seconds_ = &metrics_.Histogram("lambda_http_request_duration_seconds",
                                      "Time from a request's arrival to its answer (or, for an "
                                      "event stream, its head), by route and status.");
  confirm_seconds_ = &metrics_
                          .Histogram("lambda_admission_confirm_seconds",
                                     "Time from the start of an admission to the broker's "
                                     "confirm of its command.")
                          .Add({}, metrics::LatencyBuckets());
  admission_counters_.confirm_latency_ms = [this](uint64_t ms) {
    confirm_seconds_->Observe(static_cast<double>(ms) / 1000.0);
  };
}

void App::ObserveHttp(routes::Route route, int status, uint64_t started_ns) {
  uint32_t key = (static_cast<uint32_t>(route) << 10) | static_cast<uint32_t>(status & 0x3ff);
  auto it = http_series_.find(key);
  if (it == http_series_.end()) {
    auto* h = &http_seconds_->Add(
        {{"route", std::string(routes::RouteName(route))}, {"code", std::to_string(status)}},
        metrics::LatencyBuckets());
    it = http_series_.emplace(key, h).first;
  }
  it->second->Observe(static_cast<double>(uv_hrtime() - started_ns) / 1e9);
}

}  // namespace lambda::shim

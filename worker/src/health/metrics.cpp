#include "health/metrics.h"

#include <array>
#include <memory>

namespace lambda::worker {
namespace {

constexpr std::array<const char*, 4> kOutcomes{"completed", "superseded", "redis_unavailable",
                                               "provider_transient"};

}  // namespace

void DeclareWorkerMetrics(metrics::Exposition& e, const WorkerMetricSources& s) {
  using metrics::Series;
  auto count = [](const uint64_t* v) {
    return std::vector<Series>{{{}, [v] { return static_cast<double>(*v); }}};
  };
  const auto* c = s.consumer;
  e.Counter("lambda_worker_deliveries_total", "Commands delivered to this worker.",
            count(&c->deliveries));
  e.Counter("lambda_worker_commands_completed_total", "Commands carried to their final status.",
            count(&c->completed));
  e.Counter("lambda_worker_commands_stale_total",
            "Redelivered, duplicated or superseded commands, acked and dropped.", count(&c->stale));
  e.Counter("lambda_worker_commands_busy_total",
            "Commands for an instance leased by a running job, sent to wait and retry.",
            count(&c->busy));
  e.Counter("lambda_worker_commands_retried_total",
            "Commands sent to the delayed-retry queue (Redis away, instance busy).",
            count(&c->retried));
  e.Counter("lambda_worker_transient_retries_total",
            "Provider operations retried with back-off after a transient error.",
            count(&c->transient_retries));
  e.Counter("lambda_worker_commands_dead_lettered_total",
            "Commands dead-lettered (invalid, or out of attempts).", count(&c->dead_lettered));
  e.Counter("lambda_worker_commands_deferred_total",
            "Commands handed back through the retry queue because their tenant had its share "
            "held in this worker already (fair dispatch).",
            count(&c->deferred));
  e.Counter("lambda_worker_jobs_interrupted_total",
            "Running jobs told of a newer gen of their instance; their step was interrupted.",
            count(&c->interrupted));
  const auto* r = s.reconciler;
  e.Counter("lambda_worker_reconciler_passes_total", "Reconciler passes this worker ran.",
            count(&r->passes));
  e.Counter("lambda_worker_reconciler_republished_total",
            "Pending commands republished past their deadline.", count(&r->republished));
  e.Counter("lambda_worker_reconciler_failed_total",
            "Instances failed by the reconciler past the hard timeout.", count(&r->failed));
  e.Counter("lambda_worker_reconciler_undone_total",
            "Admissions left unconfirmed by their shim, undone.", count(&r->undone));
  e.Gauge("lambda_worker_in_flight", "Commands this worker is carrying out.", {{{}, s.in_flight}});
  if (s.held) {
    e.Gauge("lambda_worker_held", "Commands delivered to this worker, waiting for a slot.",
            {{{}, s.held}});
  }
  e.Gauge("lambda_redis_up", "1 while the Redis connection is up.", {{{}, s.redis_up}});
  e.Gauge("lambda_amqp_up", "1 while the RabbitMQ connection is up.", {{{}, s.amqp_up}});

  auto& duration = e.Histogram("lambda_worker_command_duration_seconds",
                               "Time from a command's claim to its outcome, by action and "
                               "outcome.");
  // Every (action, outcome) series exists from the start; an event only indexes the table.
  auto table =
      std::make_shared<std::array<std::array<prometheus::Histogram*, 4>, domain::kActionCount>>();
  for (auto a : domain::kAllActions) {
    for (size_t o = 0; o < kOutcomes.size(); ++o) {
      (*table)[static_cast<size_t>(a)][o] =
          &duration.Add({{"action", std::string(domain::ActionName(a))}, {"outcome", kOutcomes[o]}},
                        metrics::LongBuckets());
    }
  }
  s.consumer->command_ms = [table](domain::Action a, JobOutcome o, uint64_t ms) {
    (*table)[static_cast<size_t>(a)][static_cast<size_t>(o)]->Observe(static_cast<double>(ms) /
                                                                      1000.0);
  };
  auto* wait = &e.Histogram("lambda_worker_queue_wait_seconds",
                            "Time from a command's issued_at (its admission) to its claim by a "
                            "worker.")
                    .Add({}, metrics::LongBuckets());
  s.consumer->queue_wait_ms = [wait](int64_t ms) {
    wait->Observe(static_cast<double>(std::max<int64_t>(ms, 0)) / 1000.0);
  };
}

}  // namespace lambda::worker

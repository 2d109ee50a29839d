#pragma once
/// The worker's /metrics families: its counters (plain numbers in the consumer and reconciler),
/// gauges, and the command-duration and queue-wait histograms. Thread: loop only.
#include <functional>

#include "consumer/consumer.h"
#include "lambda/metrics/metrics.h"
#include "reconciler/reconciler.h"

namespace lambda::worker {

struct WorkerMetricSources {
  ConsumerCounters* consumer = nullptr;  ///< its histogram hooks are set here
  const ReconcilerCounters* reconciler = nullptr;
  std::function<double()> in_flight;
  std::function<double()> redis_up;
  std::function<double()> amqp_up;
  std::function<double()> held = nullptr;  ///< commands waiting for a slot; may be empty
};

/// Declares every family on `e` (each present from the first scrape, counters at 0).
void DeclareWorkerMetrics(metrics::Exposition& e, const WorkerMetricSources& s);

}  // namespace lambda::worker

#pragma once
/// The worker's settings: flags and LAMBDA_* variables, validated once at start, immutable.
#include <optional>
#include <string>

#include "consumer/consumer.h"
#include "lambda/amqp/config.h"
#include "lambda/config/source.h"
#include "lambda/redis/async_client.h"
#include "providers/hooks/hook_runner.h"
#include "providers/libvirt/libvirt_provider.h"
#include "providers/openstack/openstack_provider.h"
#include "providers/sim/sim_provider.h"
#include "reconciler/reconciler.h"

namespace lambda::worker {

struct Config {
  std::string worker_id;  ///< unique per process; default host-pid-random
  redis::Config redis;
  std::string redis_prefix = "lambda:";
  amqp::Config amqp;
  std::string provider = "sim";
  SimConfig sim;
  /// The simulated cloud's own Redis (its VMs' state), as a real cloud keeps its state apart
  /// from ours; nullopt: it lives in the worker's Redis under the prefix.
  std::optional<redis::Config> sim_cloud_redis;
  libvirt::LibvirtConfig libvirt;
  openstack::OsConfig openstack;
  HookConfig hooks;
  int ledger_max = 1000;           ///< entries kept per instance in the operations ledger
  size_t redis_group_calls = 128;  ///< script calls of one loop iteration sent as one (1 = off)
  ConsumerConfig consumer;
  ReconcilerConfig reconciler;
  uint64_t lease_ms = 30000;  ///< instance lease; renewed before every step
  int history_max = 256;
  int max_op_attempts = 4;
  uint64_t op_backoff_ms = 200;
  uint64_t op_backoff_max_ms = 60000;
  std::string http_host = "127.0.0.1";
  int http_port = 0;                   ///< /healthz, /readyz, /metrics; 0 = any free port
  uint64_t shutdown_grace_ms = 20000;  ///< SIGTERM: time to finish in-flight commands
  std::string log_level = "info";
};

Result<Config> LoadConfig(config::Source& src);

}  // namespace lambda::worker

#pragma once
/// The api-shim's settings: flags and LAMBDA_* variables, validated once at start, immutable.
#include <cstdint>
#include <string>

#include "lambda/amqp/config.h"
#include "lambda/config/source.h"
#include "lambda/domain/tenant_limits.h"
#include "lambda/http/server.h"
#include "lambda/redis/async_client.h"

namespace lambda::shim {

struct Config {
  std::string host = "127.0.0.1";  ///< listen address
  int port = 8080;                 ///< listen port (0 = any free port)
  bool reuse_port = false;         ///< SO_REUSEPORT: several shims on one port
  std::string public_url;          ///< base of links; empty = from the Host header
  redis::Config redis;
  std::string redis_prefix = "lambda:";  ///< every Redis key starts with it
  amqp::Config amqp;
  http::ServerLimits http;
  uint64_t key_cache_ms = 2000;  ///< how long a checked API key is trusted (revocation delay)
  /// A key Redis vouched for this recently is still trusted while Redis cannot answer for it.
  uint64_t key_stale_ms = 30000;
  /// File of 32 random bytes (mode 0600) that seals access key secrets; empty: access keys
  /// (ZC2-HMAC-SHA256 signed requests) are refused.
  std::string server_key_file;
  int history_max = 256;  ///< entries kept per instance history stream
  /// How long an admission whose publish answered may take to be confirmed or undone in Redis
  /// (retried while Redis is away) before the answer is 504 "outcome unknown".
  uint64_t settle_budget_ms = 3000;
  size_t max_watchers = 10000;     ///< held status waits and event streams; beyond → 503
  size_t redis_group_calls = 128;  ///< script calls of one loop iteration sent as one (1 = off)
  /// Replicas that must hold an admission (WAIT) before its command is published; 1 by default
  /// on Redis Cluster (a master's death then loses nothing accepted), 0 on one server.
  int redis_wait_replicas = 0;
  uint64_t redis_wait_timeout_ms = 500;
  /// Commands of one loop iteration packed into one message (1 = one message per command).
  size_t max_commands_per_message = 64;
  uint64_t sse_heartbeat_ms = 15000;   ///< comment line on every event stream this often
  uint64_t shutdown_grace_ms = 10000;  ///< SIGTERM: time to finish in-flight requests
  std::string log_level = "info";
  /// A tenant's limits where its limits hash (lambdactl tenant set) has none: requests a second
  /// (0 = off) and burst of its token bucket (a batch costs per item), live instances, held
  /// waits and streams on this shim. Over any: 429.
  domain::TenantLimits tenant_defaults;
  /// The routes without a key, per client address: requests a second (0 = off) and burst.
  double address_rate = 100;
  double address_burst = 200;
  /// The workers' provider (LAMBDA_PROVIDER, as they read it): a create's `simulate` block is
  /// accepted only with the simulated one.
  std::string provider = "sim";
  /// Test-only switches are refused unless this is set (never in production).
  bool enable_test_faults = false;
  /// Fault injection for the chaos tests only (needs enable_test_faults): the process dies
  /// (SIGKILL) between admission and publish in this many of every 1000 admissions.
  int fault_crash_after_admit_permille = 0;
};

/// Reads every setting; on errors returns them (the binary prints and exits 2).
Result<Config> LoadConfig(config::Source& src);

}  // namespace lambda::shim

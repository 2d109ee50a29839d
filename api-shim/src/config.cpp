#include "config.h"

#include "lambda/config/connections.h"
#include "lambda/domain/command.h"
#include "lambda/redis/keys.h"

namespace lambda::shim {

Result<Config> LoadConfig(config::Source& src) {
  Config c;
  c.host = src.String("host", c.host);
  c.port = static_cast<int>(src.Int("http-port", c.port, 0, 65535));
  c.reuse_port = src.Bool("reuse-port", c.reuse_port);
  c.public_url = src.String("public-url", c.public_url);
  c.redis = config::ReadRedis(src);
  c.redis.max_pending = static_cast<size_t>(src.Int("max-pending-redis", 20000, 1, 1000000));
  c.redis_prefix = src.String("redis-prefix", c.redis_prefix);
  amqp::Config base;
  base.max_in_flight = static_cast<size_t>(src.Int("max-in-flight-publishes", 4096, 1, 1000000));
  c.amqp = config::ReadAmqp(src, base);
  c.http.parser.max_header_bytes =
      static_cast<size_t>(src.Int("max-header-bytes", 8192, 1024, 1 << 20));
  c.http.parser.max_body_bytes =
      static_cast<size_t>(src.Int("max-body-bytes", 1 << 20, 1024, 64 << 20));
  c.http.request_timeout_ms =
      static_cast<uint64_t>(src.Int("request-timeout-ms", 30000, 100, 3600000));
  c.http.idle_timeout_ms = static_cast<uint64_t>(src.Int("idle-timeout-ms", 75000, 100, 3600000));
  c.http.max_connections = static_cast<size_t>(src.Int("max-connections", 10000, 1, 1000000));
  c.key_cache_ms = static_cast<uint64_t>(src.Int("key-cache-ms", 2000, 0, 600000));
  c.key_stale_ms = static_cast<uint64_t>(src.Int("key-stale-ms", 30000, 0, 3600000));
  c.server_key_file = src.String("server-key-file", c.server_key_file);
  c.history_max = static_cast<int>(src.Int("history-max", 256, 1, 100000));
  c.settle_budget_ms = static_cast<uint64_t>(src.Int("settle-budget-ms", 3000, 100, 600000));
  c.max_watchers = static_cast<size_t>(src.Int("max-watchers", 10000, 0, 1000000));
  c.redis_group_calls = static_cast<size_t>(src.Int("redis-group-calls", 128, 1, 10000));
  c.redis_wait_replicas =
      static_cast<int>(src.Int("redis-wait-replicas", c.redis.cluster ? 1 : 0, 0, 16));
  c.redis_wait_timeout_ms = static_cast<uint64_t>(src.Int("redis-wait-timeout-ms", 500, 1, 60000));
  c.max_commands_per_message = static_cast<size_t>(src.Int(
      "max-commands-per-message", 64, 1, static_cast<int64_t>(domain::kMaxCommandsPerMessage)));
  c.http.max_stream_backlog_bytes = static_cast<size_t>(
      src.Int("max-stream-backlog-bytes", int64_t{256} * 1024, 1024, int64_t{64} << 20));
  c.http.max_unsent_bytes = static_cast<size_t>(
      src.Int("max-unsent-bytes", int64_t{256} * 1024, 4096, int64_t{64} << 20));
  c.http.send_timeout_ms = static_cast<uint64_t>(src.Int("send-timeout-ms", 30000, 100, 3600000));
  c.sse_heartbeat_ms = static_cast<uint64_t>(src.Int("sse-heartbeat-ms", 15000, 100, 600000));
  c.shutdown_grace_ms = static_cast<uint64_t>(src.Int("shutdown-grace-ms", 10000, 0, 600000));
  c.log_level = src.OneOf("log-level", c.log_level, {"debug", "info", "warn", "error"});
  // A tenant's limits where its limits hash has none (SPEC §3; lambdactl tenant set).
  c.tenant_defaults.rate = static_cast<double>(src.Int("rate-limit-per-s", 200, 0, 1000000));
  c.tenant_defaults.burst = static_cast<double>(src.Int("rate-limit-burst", 1000, 1, 1000000));
  c.tenant_defaults.max_instances = src.Int("tenant-max-instances", 1000, 0, 1000000000);
  c.tenant_defaults.max_inflight = src.Int("tenant-max-inflight", 200, 0, 1000000000);
  c.tenant_defaults.max_watchers = src.Int("tenant-max-watchers", 1000, 0, 1000000);
  c.address_rate = static_cast<double>(src.Int("address-rate-limit-per-s", 100, 0, 1000000));
  c.address_burst = static_cast<double>(src.Int("address-rate-limit-burst", 200, 1, 1000000));
  c.provider = src.OneOf("provider", c.provider, {"sim", "libvirt", "openstack"});
  c.enable_test_faults = src.Bool("enable-test-faults", false);
  c.fault_crash_after_admit_permille =
      static_cast<int>(src.Int("fault-crash-after-admit-permille", 0, 0, 1000));
  if (c.fault_crash_after_admit_permille > 0 && !c.enable_test_faults) {
    src.AddError(
        "--fault-crash-after-admit-permille is a test-only switch: it needs --enable-test-faults");
  }
  if (c.redis_prefix.empty()) src.AddError("--redis-prefix must not be empty");
  if (!redis::keys::IsValidPrefix(c.redis_prefix)) {
    src.AddError("--redis-prefix must not hold { or } (they would make it every key's hash tag)");
  }
  const auto& errors = src.Finish();
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) all += e + "\n";
    return Error{Code::kInvalidArgument, all};
  }
  return c;
}

}  // namespace lambda::shim

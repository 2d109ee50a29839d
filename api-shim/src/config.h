#pragma once
/// The api-shim's settings: flags and LAMBDA_* variables, validated once at start, immutable.
#include <cstdint>
#include <string>

#include "http/server.h"
#include "lambda/amqp/connection.h"
#include "lambda/config/source.h"
#include "lambda/redis/async_client.h"

namespace lambda::shim {

struct Config {
  std::string host = "127.0.0.1";  ///< listen address
  int port = 8080;                 ///< listen port (0 = any free port)
  std::string public_url;          ///< base of links; empty = from the Host header
  redis::Config redis;
  std::string redis_prefix = "lambda:";  ///< every Redis key starts with it
  amqp::Config amqp;
  http::ServerLimits http;
  uint64_t key_cache_ms = 2000;        ///< how long a checked API key is trusted (revocation delay)
  int history_max = 256;               ///< entries kept per instance history stream
  /// How long an admission whose publish answered may take to be confirmed or undone in Redis
  /// (retried while Redis is away) before the answer is 504 "outcome unknown".
  uint64_t settle_budget_ms = 3000;
  uint64_t shutdown_grace_ms = 10000;  ///< SIGTERM: time to finish in-flight requests
  std::string log_level = "info";
  /// Fault injection for the chaos tests only: the process dies (SIGKILL) between admission and
  /// publish in this many of every 1000 admissions. 0 in production.
  int fault_crash_after_admit_permille = 0;
};

/// Reads every setting; on errors returns them (the binary prints and exits 2).
Result<Config> LoadConfig(config::Source& src);

}  // namespace lambda::shim

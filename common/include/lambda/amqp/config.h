#pragma once
/// How to reach the broker and what to declare there.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lambda/result.h"

namespace lambda::amqp {

/// One broker node and how to log in there.
struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";
  std::string Addr() const { return host + ":" + std::to_string(port); }
};

struct Config {
  /// The nodes of one broker (a cluster's members), tried in this order: a lost connection or a
  /// failed connect moves on to the next, and a whole round of failures backs off.
  std::vector<Endpoint> endpoints = {Endpoint{}};
  std::string prefix = "lambda";      ///< names of exchanges and queues
  std::string queue_type = "quorum";  ///< quorum | classic
  int prefetch = 200;
  int heartbeat_s = 0;
  uint64_t publish_timeout_ms = 5000;
  size_t max_in_flight = 4096;  ///< unconfirmed publishes; beyond → kUnavailable
  int delivery_limit = 20;      ///< quorum: redeliveries before dead-lettering
  uint64_t reconnect_min_ms = 100;
  uint64_t reconnect_max_ms = 5000;
  uint64_t rpc_timeout_ms = 2000;  ///< each setup RPC and the closing handshake (I/O thread)
};

/// amqp://user:pass@host:port/vhost through rabbitmq-c's `amqp_parse_url` (vhost
/// percent-decoded; "/" when absent or empty), or several such URLs separated by commas: the
/// nodes of a cluster (`amqp://u:p@h1:5672/,amqp://u:p@h2:5672/`), each a whole URL. The other
/// fields keep `base`'s values.
Result<Config> ParseUrl(std::string_view url, Config base = {});

/// Exchange and queue names derived from the prefix.
struct Topology {
  explicit Topology(const std::string& prefix);
  std::string actions_exchange, actions_queue;
  std::string retry_exchange;
  std::string dead_exchange, dead_queue;
  static constexpr const char* kActionKey = "action";
  static constexpr const char* kDeadKey = "dead";

  /// Delayed retry: one queue per delay tier (of the actions queue's type), each with its tier as
  /// queue TTL and dead-lettering back to the actions exchange. A message goes to the smallest tier
  /// that covers its delay and carries its own expiration. RabbitMQ expires messages only at the
  /// head of a queue, so mixing delays in one queue would let a long wait hold up every short one
  /// behind it; with tiers a message waits at most its tier.
  static constexpr std::array<uint64_t, 7> kRetryTiersMs = {250,   1000,   4000,   16000,
                                                            64000, 256000, 1024000};
  struct RetryRoute {
    std::string key;         ///< routing key on retry_exchange (the tier, in ms)
    uint64_t expiration_ms;  ///< the delay, capped at the largest tier
    uint64_t tier_ms;        ///< the longest the message may wait (behind others in its tier)
  };
  static RetryRoute RetryRouteFor(uint64_t delay_ms);
  std::string RetryQueue(uint64_t tier_ms) const {
    return retry_exchange + "." + std::to_string(tier_ms);
  }
};

}  // namespace lambda::amqp

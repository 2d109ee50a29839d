#pragma once
/// One rabbitmq-c connection driven by a libuv loop: a `uv_poll` on its socket drains every
/// buffered frame, so no second thread exists. Channel 1 publishes with confirms
/// (`ConfirmingPublisher` semantics: every publish completes exactly once, with the broker's
/// ack, or with an error on nack, return, deadline or a dropped connection). Channel 2, when
/// `consume` is set, consumes the action queue with manual acks and bounded prefetch.
/// Thread: loop only. Connection setup is synchronous with a short timeout (loopback broker).
#include <uv.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lambda/result.h"

namespace lambda::amqp {

struct Config {
  std::string host = "127.0.0.1";
  int port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";
  std::string prefix = "lambda";      ///< names of exchanges and queues
  std::string queue_type = "quorum";  ///< quorum | classic
  int prefetch = 200;
  int heartbeat_s = 0;
  uint64_t publish_timeout_ms = 5000;
  size_t max_in_flight = 4096;  ///< unconfirmed publishes; beyond → kUnavailable
  int delivery_limit = 20;      ///< quorum: redeliveries before dead-lettering
  uint64_t reconnect_min_ms = 100;
  uint64_t reconnect_max_ms = 5000;
};

/// Parses amqp://user:pass@host:port/vhost (vhost percent-encoded, "/" by default).
Result<Config> ParseUrl(std::string_view url, Config base = {});

/// Exchange and queue names derived from the prefix.
struct Topology {
  explicit Topology(const std::string& prefix);
  std::string actions_exchange, actions_queue;
  std::string retry_exchange;
  std::string dead_exchange, dead_queue;
  static constexpr const char* kActionKey = "action";
  static constexpr const char* kDeadKey = "dead";

  /// Delayed retry: one classic queue per delay tier, each with its tier as queue TTL and
  /// dead-lettering back to the actions exchange. A message goes to the smallest tier that covers
  /// its delay and carries its own expiration. RabbitMQ expires messages only at the head of a
  /// queue, so mixing delays in one queue would let a long wait hold up every short one behind
  /// it; with tiers a message waits at most its tier.
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

struct Delivery {
  uint64_t tag = 0;
  bool redelivered = false;
  std::string body;
  std::string message_id;
};

struct PublishOptions {
  std::string message_id;
  uint64_t expiration_ms = 0;  ///< per-message TTL (the delayed-retry queue); 0 = none
  std::vector<std::pair<std::string, std::string>> headers;
};

class Connection {
 public:
  enum class State { kDisconnected, kConnected, kStopped };
  struct Handlers {
    std::function<void(State)> on_state;
    std::function<void(Delivery)> on_delivery;  ///< consumer only
  };

  Connection(uv_loop_t* loop, Config config, bool consume, Handlers handlers);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void Start();
  /// Fails in-flight publishes and closes; unacked deliveries return to the queue.
  void Stop();

  State state() const;
  bool connected() const { return state() == State::kConnected; }
  const Topology& topology() const;
  size_t in_flight() const;

  /// Persistent, mandatory publish on the confirm channel. `done` runs exactly once.
  void Publish(const std::string& exchange, const std::string& routing_key, std::string_view body,
               const PublishOptions& options, std::function<void(Status)> done);
  Status Ack(uint64_t tag, bool multiple = false);
  Status Reject(uint64_t tag, bool requeue);
  /// Stops new deliveries (basic.cancel); unacked ones stay ours until acked or closed.
  void CancelConsumer();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lambda::amqp

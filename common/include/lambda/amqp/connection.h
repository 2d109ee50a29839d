#pragma once
/// One broker connection whose rabbitmq-c state lives on a dedicated I/O thread, so nothing the
/// broker does (or fails to do) blocks the libuv loop: connect, login and topology RPCs, frame
/// reads and socket writes all happen there. The loop and the thread meet in two locked queues
/// (commands down, events up; `uv_async_t` wakes the loop, an eventfd wakes the thread).
///
/// The connection carries the guarantees of the two types built on it (see publisher.h and
/// consumer.h): it reconnects with back-off, re-declares the topology each time, and counts
/// connections in epochs so that a delivery tag is only ever acked on the connection it came from.
/// Thread: the public API is loop-only; the I/O thread is an implementation detail.
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lambda/amqp/config.h"
#include "lambda/result.h"

namespace lambda::amqp {

struct Delivery {
  uint64_t epoch = 0;  ///< the connection it came on; its tag means nothing on another
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

class Link;

class Connection {
 public:
  enum class State { kDisconnected, kConnected, kStopped };
  struct Options {
    bool consume = false;  ///< open the consume channel (prefetch, manual acks)
    std::function<void(State)> on_state;
  };

  Connection(uv_loop_t* loop, Config config, Options options);
  /// Cancels (no callback runs from here on), then joins the I/O thread: a graceful close
  /// bounded by `rpc_timeout_ms`, after which the socket is shut down under it.
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void Start();
  /// Never blocks: fails every unconfirmed publish, then closes on the I/O thread; unacked
  /// deliveries return to the queue.
  void Stop();
  /// Drops the current connection (its socket is shut down under a blocked write) and
  /// reconnects: for a broker that stopped answering.
  void Abort(const std::string& why);

  State state() const { return state_; }
  bool connected() const { return state_ == State::kConnected; }
  uint64_t epoch() const { return epoch_; }
  /// host:port of the node it is connected to (the last one, while disconnected).
  const std::string& address() const { return address_; }
  const Topology& topology() const { return topology_; }
  const Config& config() const { return config_; }

 private:
  friend class ConfirmingPublisher;
  friend class Consumer;
  /// What the publisher and the consumer hear from the I/O thread (loop thread).
  struct Sinks {
    std::function<void(uint64_t seq, Status outcome)> on_confirm;
    std::function<void()> on_stop;
    std::function<void(Delivery)> on_delivery;
  };
  void SetPublisherSink(std::function<void(uint64_t, Status)> on_confirm,
                        std::function<void()> on_stop);
  void SetConsumerSink(std::function<void(Delivery)> on_delivery);
  void SendPublish(uint64_t seq, const std::string& exchange, const std::string& routing_key,
                   std::string_view body, const PublishOptions& options);
  void SendAck(uint64_t epoch, uint64_t tag, bool multiple);
  void SendReject(uint64_t epoch, uint64_t tag, bool requeue);
  void SendCancelConsumer();

  void OnEvents();
  void SetState(State s);

  uv_loop_t* loop_;
  Config config_;
  Topology topology_;
  Options options_;
  Sinks sinks_;
  State state_ = State::kDisconnected;
  uint64_t epoch_ = 0;
  std::string address_;
  struct AsyncHandle;
  std::unique_ptr<AsyncHandle> wake_;  ///< outlives link_ (declared first, destroyed last)
  std::unique_ptr<Link> link_;
};

}  // namespace lambda::amqp

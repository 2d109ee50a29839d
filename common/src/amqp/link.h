#pragma once
/// The I/O thread behind `Connection`: it alone touches the rabbitmq-c connection state.
/// Commands come down from the loop in a locked queue (an eventfd wakes the thread); events go
/// up in another (the loop's `uv_async_t` is woken through `wake_loop`). Internal to amqp/.
#include <amqp.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lambda/amqp/connection.h"

namespace lambda::amqp {

struct Command {
  enum class Kind { kPublish, kAck, kReject, kCancelConsumer };
  Kind kind = Kind::kPublish;
  uint64_t epoch = 0;  ///< kAck / kReject: the connection the tag belongs to
  uint64_t seq = 0;    ///< kPublish: the loop's id of this publish
  uint64_t tag = 0;
  bool flag = false;  ///< kAck: multiple; kReject: requeue
  std::string exchange, routing_key, body;
  PublishOptions options;
};

struct Event {
  enum class Kind { kUp, kDown, kConfirmed, kDelivered };
  Kind kind = Kind::kUp;
  uint64_t epoch = 0;  ///< kUp: the new connection's epoch
  uint64_t seq = 0;    ///< kConfirmed
  Status outcome = OkStatus();
  std::string why;   ///< kDown
  std::string addr;  ///< kUp: the node it is connected to
  Delivery delivery;
};

/// Owns one `amqp_connection_state_t` at a time (destroyed in one place, `Close`).
class ConnectionState {
 public:
  ConnectionState() = default;
  ~ConnectionState() { Reset(); }
  ConnectionState(const ConnectionState&) = delete;
  ConnectionState& operator=(const ConnectionState&) = delete;
  amqp_connection_state_t get() const { return conn_; }
  explicit operator bool() const { return conn_ != nullptr; }
  amqp_connection_state_t Open() {
    Reset();
    conn_ = amqp_new_connection();
    return conn_;
  }
  void Reset() {
    if (conn_ != nullptr) amqp_destroy_connection(conn_);
    conn_ = nullptr;
  }

 private:
  amqp_connection_state_t conn_ = nullptr;
};

class Link {
 public:
  Link(Config config, bool consume, std::function<void()> wake_loop);
  /// Asks the thread to close gracefully; after `rpc_timeout_ms` shuts the socket down under it;
  /// joins.
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  void Start();
  void Push(Command c);  ///< any thread
  std::deque<Event> TakeEvents();
  void RequestStop();
  /// Shuts the current socket down (any thread): a write blocked on a silent peer returns.
  void Abort();

 private:
  void Run() noexcept;
  Status Setup();
  Status DeclareTopology();
  void Drop(const std::string& why);
  const Endpoint& endpoint() const { return config_.endpoints[endpoint_]; }
  void Close();
  void Execute(Command& c);
  void Publish(Command& c);
  void DrainFrames();
  void HandleFrame(const amqp_frame_t& frame);
  void Confirm(uint64_t tag, bool multiple, bool ack);
  /// Waits until the socket is readable, a command arrives, stop is asked or `timeout_ms`.
  void Wait(int timeout_ms);
  /// Between connections: fails queued publishes, drops queued acks, until `ms` or stop.
  void Backoff(uint64_t ms);
  std::deque<Command> TakeCommands();
  void Post(Event e);
  void Flush();

  const Config config_;
  const Topology topology_;
  const bool consume_;
  const std::function<void()> wake_loop_;
  int wake_fd_ = -1;  ///< eventfd: commands or stop

  std::mutex mu_;  // guards commands_, events_, socket_fd_
  std::deque<Command> commands_;
  std::deque<Event> events_;
  int socket_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  bool done_ = false;

  // I/O thread only.
  ConnectionState conn_;
  uint64_t epoch_ = 0;
  size_t endpoint_ = 0;  ///< the node tried or connected now (an index into config_.endpoints)
  bool up_ = false;      ///< setup completed on the current connection
  bool nacked_ = false;  ///< the broker nacked a publish on this connection
  uint64_t next_tag_ = 0;
  std::map<uint64_t, uint64_t> unconfirmed_;  ///< broker delivery tag → publish seq
  std::set<uint64_t> returned_;               ///< seqs the broker returned (their ack follows)
  std::string consumer_tag_;
  std::vector<Event> outbox_;
  std::thread thread_;
};

}  // namespace lambda::amqp

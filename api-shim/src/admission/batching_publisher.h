#pragma once
/// Packs the commands the shim publishes in one loop iteration into one message. RabbitMQ's cost
/// is per message (a quorum queue's Raft entry, its confirm, the delivery and the ack), not per
/// byte, and at load many admissions finish their Redis script in the same iteration: their
/// commands leave together as one JSON array (domain::ToJson of a batch) when the iteration's
/// I/O callbacks are done (a uv_check handle), so no command waits for a later iteration.
/// Every caller's `done` gets that message's outcome: a nack or a dropped connection fails all of
/// them, and each admission undoes itself as before. A worker acks a batch once every command in
/// it is final; each command is still fenced on its own (gen, lease).
/// Only plain publishes to the actions route are packed (no TTL, no headers); the rest, and
/// everything while `max_batch` is 1 or the broker is away, go straight to the inner publisher.
/// Thread: loop only.
#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "lambda/amqp/publisher.h"
#include "lambda/uv/end_of_turn.h"

namespace lambda::shim {

class BatchingPublisher final : public amqp::Publisher {
 public:
  /// `inner` outlives this publisher. `max_batch` in 1..domain::kMaxCommandsPerMessage.
  BatchingPublisher(uv_loop_t* loop, amqp::Publisher& inner, size_t max_batch);
  /// Drops the pending callbacks, as ConfirmingPublisher does: those admissions stay unconfirmed
  /// and the reconciler undoes them.
  ~BatchingPublisher() override;
  BatchingPublisher(const BatchingPublisher&) = delete;
  BatchingPublisher& operator=(const BatchingPublisher&) = delete;

  void Publish(const std::string& exchange, const std::string& routing_key, std::string_view body,
               const amqp::PublishOptions& options, std::function<void(Status)> done) override;
  bool connected() const override { return inner_.connected(); }
  size_t in_flight() const override { return inner_.in_flight() + turn_.size(); }
  const amqp::Topology& topology() const override { return inner_.topology(); }

  /// Publishes what is pending now (the check handle calls it; tests call it directly).
  void Flush() { turn_.Flush(); }
  /// Messages sent and commands packed into them, for /metrics.
  uint64_t messages_sent() const { return messages_sent_; }
  uint64_t commands_sent() const { return commands_sent_; }

 private:
  struct Pending {
    std::string body;
    std::string message_id;
    std::function<void(Status)> done;
  };
  void Send(std::vector<Pending> batch);

  amqp::Publisher& inner_;
  uint64_t messages_sent_ = 0;
  uint64_t commands_sent_ = 0;
  uv::EndOfTurn<Pending> turn_;
};

}  // namespace lambda::shim

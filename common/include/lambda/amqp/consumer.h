#pragma once
/// Consuming with at-least-once delivery: deliveries of the action queue with manual acks and
/// bounded prefetch. An ack or reject names the delivery's epoch; one for a connection that is
/// gone is dropped (the broker has already requeued that delivery).
#include <cstdint>
#include <functional>

#include "lambda/amqp/connection.h"

namespace lambda::amqp {

/// Settling deliveries: the port the worker's dispatch depends on.
class DeliveryAcks {
 public:
  virtual ~DeliveryAcks() = default;
  /// kUnavailable when the delivery's connection is gone (nothing sent).
  virtual Status Ack(uint64_t epoch, uint64_t tag) = 0;
  virtual Status Reject(uint64_t epoch, uint64_t tag, bool requeue) = 0;
};

class Consumer final : public DeliveryAcks {
 public:
  /// `connection` was made with `consume` set and outlives this consumer.
  Consumer(Connection& connection, std::function<void(Delivery)> on_delivery);
  ~Consumer() override;
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  Status Ack(uint64_t epoch, uint64_t tag) override;
  Status Reject(uint64_t epoch, uint64_t tag, bool requeue) override;
  /// Stops new deliveries (basic.cancel); unacked ones stay ours until acked or closed.
  void Cancel();

 private:
  Connection& connection_;
};

}  // namespace lambda::amqp

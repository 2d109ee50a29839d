#include "lambda/amqp/consumer.h"

namespace lambda::amqp {

Consumer::Consumer(Connection& connection, std::function<void(Delivery)> on_delivery)
    : connection_(connection) {
  connection_.SetConsumerSink(std::move(on_delivery));
}

Consumer::~Consumer() { connection_.SetConsumerSink(nullptr); }

Status Consumer::Ack(uint64_t epoch, uint64_t tag) {
  if (!connection_.connected() || epoch != connection_.epoch()) {
    return Error{Code::kUnavailable, "the delivery's connection is gone"};
  }
  connection_.SendAck(epoch, tag, false);
  return OkStatus();
}

Status Consumer::Reject(uint64_t epoch, uint64_t tag, bool requeue) {
  if (!connection_.connected() || epoch != connection_.epoch()) {
    return Error{Code::kUnavailable, "the delivery's connection is gone"};
  }
  connection_.SendReject(epoch, tag, requeue);
  return OkStatus();
}

void Consumer::Cancel() { connection_.SendCancelConsumer(); }

}  // namespace lambda::amqp

#include "admission/batching_publisher.h"

#include <algorithm>

#include "lambda/domain/command.h"

namespace lambda::shim {

BatchingPublisher::BatchingPublisher(uv_loop_t* loop, amqp::Publisher& inner, size_t max_batch)
    : inner_(inner),
      turn_(loop, std::clamp<size_t>(max_batch, 1, domain::kMaxCommandsPerMessage),
            [this](std::vector<Pending> batch) { Send(std::move(batch)); }) {}

BatchingPublisher::~BatchingPublisher() = default;

void BatchingPublisher::Publish(const std::string& exchange, const std::string& routing_key,
                                std::string_view body, const amqp::PublishOptions& options,
                                std::function<void(Status)> done) {
  const bool packable = turn_.max() > 1 && exchange == inner_.topology().actions_exchange &&
                        routing_key == amqp::Topology::kActionKey && options.expiration_ms == 0 &&
                        options.headers.empty() && inner_.connected() && !body.empty() &&
                        body.front() == '{';
  if (!packable) return inner_.Publish(exchange, routing_key, body, options, std::move(done));
  turn_.Add(Pending{std::string(body), options.message_id, std::move(done)});
}

void BatchingPublisher::Send(std::vector<Pending> batch) {
  ++messages_sent_;
  commands_sent_ += batch.size();
  amqp::PublishOptions opts;
  opts.message_id = batch.front().message_id;
  const auto& exchange = inner_.topology().actions_exchange;
  if (batch.size() == 1) {
    return inner_.Publish(exchange, amqp::Topology::kActionKey, batch.front().body, opts,
                          std::move(batch.front().done));
  }
  // Each body is one command object: the array of them is the batch (domain::ParseCommands).
  size_t bytes = 2;
  for (const auto& p : batch) bytes += p.body.size() + 1;
  std::string body;
  body.reserve(bytes);
  body += '[';
  std::vector<std::function<void(Status)>> dones;
  dones.reserve(batch.size());
  for (auto& p : batch) {
    if (body.size() > 1) body += ',';
    body += p.body;
    dones.push_back(std::move(p.done));
  }
  body += ']';
  inner_.Publish(exchange, amqp::Topology::kActionKey, body, opts,
                 [dones = std::move(dones)](const Status& st) {
                   for (const auto& d : dones) d(st);
                 });
}

}  // namespace lambda::shim

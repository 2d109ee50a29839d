#include "lambda/amqp/connection.h"

#include "lambda/log/log.h"
#include "lambda/uv/handle.h"
#include "link.h"

namespace lambda::amqp {

struct Connection::AsyncHandle {
  AsyncHandle(uv_loop_t* loop, std::function<void()> fn) : async(loop, std::move(fn)) {}
  uv::Async async;
};

Connection::Connection(uv_loop_t* loop, Config config, Options options)
    : loop_(loop),
      config_(std::move(config)),
      topology_(config_.prefix),
      options_(std::move(options)),
      wake_(std::make_unique<AsyncHandle>(loop, [this] { OnEvents(); })),
      link_(std::make_unique<Link>(config_, options_.consume,
                                   [wake = wake_.get()] { wake->async.Send(); })) {}

Connection::~Connection() {
  // Destruction cancels: no sink or on_state callback runs from here (their owners may be gone).
  state_ = State::kStopped;
  sinks_ = {};
  link_.reset();  // asks the I/O thread to close, bounded, and joins it; it may wake the loop
  wake_.reset();  // until then, so the async handle goes last
}

void Connection::Start() { link_->Start(); }

void Connection::Stop() {
  if (state_ == State::kStopped) return;
  state_ = State::kStopped;
  log::Info("amqp state", {{"state", "stopped"}});
  if (sinks_.on_stop) sinks_.on_stop();
  link_->RequestStop();
  if (options_.on_state) options_.on_state(State::kStopped);
}

void Connection::Abort(const std::string& why) {
  if (state_ != State::kConnected) return;
  log::Warn("amqp connection aborted", {{"error", why}});
  link_->Abort();
}

void Connection::SetState(State s) {
  if (state_ == s || state_ == State::kStopped) return;
  state_ = s;
  log::Info("amqp state",
            {{"state", s == State::kConnected ? "connected" : "disconnected"}, {"addr", address_}});
  if (options_.on_state) options_.on_state(s);
}

void Connection::OnEvents() {
  for (auto& e : link_->TakeEvents()) {
    switch (e.kind) {
      case Event::Kind::kUp:
        if (state_ == State::kStopped) break;
        epoch_ = e.epoch;
        address_ = e.addr;
        SetState(State::kConnected);
        break;
      case Event::Kind::kDown:
        SetState(State::kDisconnected);
        break;
      case Event::Kind::kConfirmed:
        if (sinks_.on_confirm) sinks_.on_confirm(e.seq, e.outcome);
        break;
      case Event::Kind::kDelivered:
        // After Stop the broker requeues it when the connection closes.
        if (state_ != State::kStopped && sinks_.on_delivery) {
          sinks_.on_delivery(std::move(e.delivery));
        }
        break;
    }
  }
}

void Connection::SetPublisherSink(std::function<void(uint64_t, Status)> on_confirm,
                                  std::function<void()> on_stop) {
  sinks_.on_confirm = std::move(on_confirm);
  sinks_.on_stop = std::move(on_stop);
}

void Connection::SetConsumerSink(std::function<void(Delivery)> on_delivery) {
  sinks_.on_delivery = std::move(on_delivery);
}

void Connection::SendPublish(uint64_t seq, const std::string& exchange,
                             const std::string& routing_key, std::string_view body,
                             const PublishOptions& options) {
  Command c;
  c.kind = Command::Kind::kPublish;
  c.seq = seq;
  c.exchange = exchange;
  c.routing_key = routing_key;
  c.body = std::string(body);
  c.options = options;
  link_->Push(std::move(c));
}

namespace {

Command Settle(Command::Kind kind, uint64_t epoch, uint64_t tag, bool flag) {
  Command c;
  c.kind = kind;
  c.epoch = epoch;
  c.tag = tag;
  c.flag = flag;
  return c;
}

}  // namespace

void Connection::SendAck(uint64_t epoch, uint64_t tag, bool multiple) {
  link_->Push(Settle(Command::Kind::kAck, epoch, tag, multiple));
}

void Connection::SendReject(uint64_t epoch, uint64_t tag, bool requeue) {
  link_->Push(Settle(Command::Kind::kReject, epoch, tag, requeue));
}

void Connection::SendCancelConsumer() {
  Command c;
  c.kind = Command::Kind::kCancelConsumer;
  link_->Push(std::move(c));
}

}  // namespace lambda::amqp

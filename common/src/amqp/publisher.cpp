#include "lambda/amqp/publisher.h"

#include "lambda/util/util.h"
#include "lambda/uv/handle.h"

namespace lambda::amqp {

struct ConfirmingPublisher::DeadlineTimer {
  explicit DeadlineTimer(uv_loop_t* loop) : timer(loop) {}
  uv::Timer timer;
};

ConfirmingPublisher::ConfirmingPublisher(Connection& connection)
    : connection_(connection), deadlines_(std::make_unique<DeadlineTimer>(connection.loop_)) {
  connection_.SetPublisherSink(
      [this](uint64_t seq, const Status& outcome) { Confirm(seq, outcome); },
      [this] {
        FailAll(Error{Code::kUnavailable, "amqp connection stopped"});
      });
}

ConfirmingPublisher::~ConfirmingPublisher() {
  // Destruction cancels the pending callbacks (their owners may be gone); Connection::Stop() is
  // the way to have them answered.
  connection_.SetPublisherSink(nullptr, nullptr);
}

void ConfirmingPublisher::Publish(const std::string& exchange, const std::string& routing_key,
                                  std::string_view body, const PublishOptions& options,
                                  std::function<void(Status)> done) {
  if (!connection_.connected()) {
    done(Error{Code::kUnavailable, "amqp is not connected"});
    return;
  }
  if (pending_.size() >= connection_.config().max_in_flight) {
    done(Error{Code::kUnavailable, "too many unconfirmed publishes"});
    return;
  }
  uint64_t seq = ++next_seq_;
  uint64_t deadline =
      static_cast<uint64_t>(util::NowMs()) + connection_.config().publish_timeout_ms;
  pending_.emplace(seq, Pending{deadline, std::move(done)});
  connection_.SendPublish(seq, exchange, routing_key, body, options);
  if (!deadlines_->timer.active()) deadlines_->timer.Start(100, 100, [this] { CheckDeadlines(); });
}

void ConfirmingPublisher::Confirm(uint64_t seq, const Status& outcome) {
  auto it = pending_.find(seq);
  if (it == pending_.end()) return;  // already answered: timed out, or failed at Stop
  auto node = pending_.extract(it);
  node.mapped().done(outcome);
}

void ConfirmingPublisher::FailAll(const Error& e) {
  auto failed = std::exchange(pending_, {});
  deadlines_->timer.Stop();
  for (auto& [seq, p] : failed) p.done(e);
}

void ConfirmingPublisher::CheckDeadlines() {
  uint64_t now = static_cast<uint64_t>(util::NowMs());
  bool expired = false;
  while (!pending_.empty() && pending_.begin()->second.deadline_ms <= now) {
    auto node = pending_.extract(pending_.begin());
    node.mapped().done(Error{Code::kTimeout, "broker did not confirm in time"});
    expired = true;
  }
  if (pending_.empty()) deadlines_->timer.Stop();
  // A broker silent for a whole publish timeout is not coming back on this connection: drop it
  // (its socket may be black-holed) and let the I/O thread reconnect.
  if (expired) connection_.Abort("no publisher confirm within the publish timeout");
}

}  // namespace lambda::amqp

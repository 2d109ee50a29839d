#include "link.h"

#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

#include "lambda/log/log.h"
#include "lambda/util/util.h"
#include "wire.h"

namespace lambda::amqp {
using wire::Bytes;
using wire::kConsumeChannel;
using wire::kPublishChannel;
using wire::RpcError;
using wire::TableBuilder;
using wire::Timeval;
using wire::ToString;

namespace {

Event Confirmed(uint64_t seq, Status outcome) {
  Event e;
  e.kind = Event::Kind::kConfirmed;
  e.seq = seq;
  e.outcome = std::move(outcome);
  return e;
}

}  // namespace

Link::Link(Config config, bool consume, std::function<void()> wake_loop)
    : config_(std::move(config)),
      topology_(config_.prefix),
      consume_(consume),
      wake_loop_(std::move(wake_loop)),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (wake_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  if (config_.endpoints.empty()) throw std::invalid_argument("amqp: no broker endpoints");
}

Link::~Link() {
  RequestStop();
  if (thread_.joinable()) {
    bool done = false;
    {
      std::unique_lock<std::mutex> lock(done_mu_);
      done = done_cv_.wait_for(lock, std::chrono::milliseconds(config_.rpc_timeout_ms + 500),
                               [this] { return done_; });
    }
    if (!done) Abort();  // a close handshake the broker never answers
    thread_.join();
  }
  close(wake_fd_);
}

void Link::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Link::Push(Command c) {
  bool was_empty = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was_empty = commands_.empty();
    commands_.push_back(std::move(c));
  }
  if (was_empty) {
    uint64_t one = 1;
    static_cast<void>(write(wake_fd_, &one, sizeof one));
  }
}

std::deque<Event> Link::TakeEvents() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(events_, {});
}

std::deque<Command> Link::TakeCommands() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(commands_, {});
}

void Link::RequestStop() {
  stop_ = true;
  uint64_t one = 1;
  static_cast<void>(write(wake_fd_, &one, sizeof one));
}

void Link::Abort() {
  std::lock_guard<std::mutex> lock(mu_);
  if (socket_fd_ >= 0) shutdown(socket_fd_, SHUT_RDWR);
}

void Link::Post(Event e) { outbox_.push_back(std::move(e)); }

void Link::Flush() {
  if (outbox_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& e : outbox_) events_.push_back(std::move(e));
  }
  outbox_.clear();
  wake_loop_();
}

void Link::Run() noexcept {
  try {
    int rounds = 0;         // whole rounds of nodes that all failed: they set the back-off
    size_t failed_now = 0;  // nodes failed in this round
    while (!stop_) {
      if (!conn_) {
        if (auto st = Setup(); !st) {
          log::Warn("amqp connect failed",
                    {{"addr", endpoint().Addr()}, {"error", st.error().message}});
          Drop(st.error().message);
          endpoint_ = (endpoint_ + 1) % config_.endpoints.size();
          if (++failed_now >= config_.endpoints.size()) {
            failed_now = 0;
            Backoff(util::BackoffMs(config_.reconnect_min_ms, config_.reconnect_max_ms, ++rounds));
          }
          continue;
        }
        rounds = 0;
        failed_now = 0;
        Event up;
        up.kind = Event::Kind::kUp;
        up.epoch = epoch_;
        up.addr = endpoint().Addr();
        Post(std::move(up));
        DrainFrames();  // setup's RPCs may have buffered frames no poll will announce
      }
      for (auto& c : TakeCommands()) Execute(c);
      if (conn_) DrainFrames();
      if (conn_ && nacked_) {
        // A nack comes only from an internal error of the queue's process. On a cluster it is
        // what a channel opened while a queue's leader was being re-elected keeps answering
        // (RabbitMQ 3.10 quorum queues: every publish on it, for good): a new connection, on
        // the next node, gets a fresh queue client. Held back a little, so a queue that nacks
        // everywhere does not spin.
        Drop("the broker nacked a publish; reconnecting");
        Backoff(config_.reconnect_min_ms);
      }
      Flush();
      if (conn_) Wait(1000);
    }
    Close();
  } catch (const std::exception& e) {
    log::Error("amqp I/O thread failed", {{"error", e.what()}});
  }
  Flush();
  std::lock_guard<std::mutex> lock(done_mu_);
  done_ = true;
  done_cv_.notify_all();
}

void Link::Drop(const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    socket_fd_ = -1;
  }
  if (up_) {
    log::Warn("amqp connection lost", {{"addr", endpoint().Addr()}, {"error", why}});
    // The node may be gone: the next connect tries the next one (a cluster's other members).
    endpoint_ = (endpoint_ + 1) % config_.endpoints.size();
  }
  up_ = false;
  nacked_ = false;
  conn_.Reset();
  for (const auto& [tag, seq] : unconfirmed_) {
    Post(Confirmed(seq, Error{Code::kUnavailable, "amqp connection lost: " + why}));
  }
  unconfirmed_.clear();
  returned_.clear();
  consumer_tag_.clear();
  Event down;
  down.kind = Event::Kind::kDown;
  down.why = why;
  Post(std::move(down));
  Flush();
}

void Link::Close() {
  if (conn_) {
    // Bounded: the broker answers close-ok, or the destructor shuts the socket down under us.
    timeval tv = Timeval(config_.rpc_timeout_ms);
    amqp_set_rpc_timeout(conn_.get(), &tv);
    amqp_connection_close(conn_.get(), AMQP_REPLY_SUCCESS);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    socket_fd_ = -1;
  }
  conn_.Reset();
  for (const auto& [tag, seq] : unconfirmed_) {
    Post(Confirmed(seq, Error{Code::kUnavailable, "amqp connection stopped"}));
  }
  unconfirmed_.clear();
  for (auto& c : TakeCommands()) {
    if (c.kind == Command::Kind::kPublish) {
      Post(Confirmed(c.seq, Error{Code::kUnavailable, "amqp connection stopped"}));
    }
  }
}

void Link::Backoff(uint64_t ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!stop_) {
    for (auto& c : TakeCommands()) Execute(c);  // not connected: publishes fail, acks drop
    Flush();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    Wait(static_cast<int>(left.count()));
  }
}

void Link::Wait(int timeout_ms) {
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {-1, POLLIN, 0}};
  if (conn_) fds[1].fd = amqp_get_sockfd(conn_.get());
  int n = poll(fds, fds[1].fd >= 0 ? 2 : 1, timeout_ms);
  if (n > 0 && (fds[0].revents & POLLIN) != 0) {
    uint64_t count = 0;
    static_cast<void>(read(wake_fd_, &count, sizeof count));
  }
}

void Link::Execute(Command& c) {
  switch (c.kind) {
    case Command::Kind::kPublish:
      if (!conn_) {
        Post(Confirmed(c.seq, Error{Code::kUnavailable, "amqp is not connected"}));
        return;
      }
      Publish(c);
      return;
    case Command::Kind::kAck:
    case Command::Kind::kReject: {
      if (!conn_ || c.epoch != epoch_) return;  // that delivery is back in the queue already
      int rc = c.kind == Command::Kind::kAck
                   ? amqp_basic_ack(conn_.get(), kConsumeChannel, c.tag, c.flag ? 1 : 0)
                   : amqp_basic_reject(conn_.get(), kConsumeChannel, c.tag, c.flag ? 1 : 0);
      if (rc != AMQP_STATUS_OK) Drop(amqp_error_string2(rc));
      return;
    }
    case Command::Kind::kCancelConsumer: {
      if (!conn_ || consumer_tag_.empty()) return;
      // nowait: unacked deliveries stay ours and are acked through this channel.
      amqp_basic_cancel_t m{Bytes(consumer_tag_), 1};
      if (int rc = amqp_send_method(conn_.get(), kConsumeChannel, AMQP_BASIC_CANCEL_METHOD, &m);
          rc != AMQP_STATUS_OK) {
        Drop(amqp_error_string2(rc));
        return;
      }
      consumer_tag_.clear();
      return;
    }
  }
}

void Link::Publish(Command& c) {
  // The returned message's correlation_id names the publish, so its return marks the right one.
  std::string seq_text = std::to_string(c.seq);
  amqp_basic_properties_t props{};
  props._flags =
      AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG;
  props.delivery_mode = 2;
  props.content_type = amqp_cstring_bytes("application/json");
  props.correlation_id = Bytes(seq_text);
  if (!c.options.message_id.empty()) {
    props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
    props.message_id = Bytes(c.options.message_id);
  }
  std::string expiration = std::to_string(c.options.expiration_ms);
  if (c.options.expiration_ms > 0) {
    props._flags |= AMQP_BASIC_EXPIRATION_FLAG;
    props.expiration = Bytes(expiration);
  }
  TableBuilder headers;
  for (const auto& [k, v] : c.options.headers) headers.Str(k, v);
  if (!headers.entries.empty()) {
    props._flags |= AMQP_BASIC_HEADERS_FLAG;
    props.headers = headers.Table();
  }
  int rc = amqp_basic_publish(conn_.get(), kPublishChannel, Bytes(c.exchange), Bytes(c.routing_key),
                              1, 0, &props, Bytes(c.body));
  if (rc != AMQP_STATUS_OK) {
    Post(Confirmed(c.seq,
                   Error{Code::kUnavailable, std::string("publish: ") + amqp_error_string2(rc)}));
    Drop(amqp_error_string2(rc));
    return;
  }
  unconfirmed_.emplace(++next_tag_, c.seq);
}

void Link::Confirm(uint64_t tag, bool multiple, bool ack) {
  auto finish = [&](uint64_t seq) {
    if (!ack) {
      nacked_ = true;
      Post(Confirmed(seq, Error{Code::kUnavailable, "broker refused the message (nack)"}));
    } else if (returned_.erase(seq) > 0) {
      Post(Confirmed(seq, Error{Code::kUnavailable, "message was unroutable (returned)"}));
    } else {
      Post(Confirmed(seq, OkStatus()));
    }
  };
  if (multiple) {
    while (!unconfirmed_.empty() && unconfirmed_.begin()->first <= tag) {
      finish(unconfirmed_.begin()->second);
      unconfirmed_.erase(unconfirmed_.begin());
    }
  } else if (auto it = unconfirmed_.find(tag); it != unconfirmed_.end()) {
    finish(it->second);
    unconfirmed_.erase(it);
  }
}

void Link::HandleFrame(const amqp_frame_t& frame) {
  if (frame.frame_type != AMQP_FRAME_METHOD) return;
  switch (frame.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
      auto* m = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
      Confirm(m->delivery_tag, m->multiple != 0, true);
      return;
    }
    case AMQP_BASIC_NACK_METHOD: {
      auto* m = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
      Confirm(m->delivery_tag, m->multiple != 0, false);
      return;
    }
    case AMQP_BASIC_RETURN_METHOD: {
      amqp_message_t msg;
      amqp_rpc_reply_t r = amqp_read_message(conn_.get(), frame.channel, &msg, 0);
      if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        Drop(RpcError(r, "read returned message"));
        return;
      }
      if ((msg.properties._flags & AMQP_BASIC_CORRELATION_ID_FLAG) != 0) {
        if (auto seq = util::ParseInt(ToString(msg.properties.correlation_id))) {
          returned_.insert(static_cast<uint64_t>(*seq));
        }
      }
      amqp_destroy_message(&msg);
      return;
    }
    case AMQP_BASIC_DELIVER_METHOD: {
      auto* m = static_cast<amqp_basic_deliver_t*>(frame.payload.method.decoded);
      Event e;
      e.kind = Event::Kind::kDelivered;
      e.delivery.epoch = epoch_;
      e.delivery.tag = m->delivery_tag;
      e.delivery.redelivered = m->redelivered != 0;
      amqp_message_t msg;
      amqp_rpc_reply_t r = amqp_read_message(conn_.get(), frame.channel, &msg, 0);
      if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        Drop(RpcError(r, "read delivery"));
        return;
      }
      e.delivery.body = ToString(msg.body);
      if ((msg.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) != 0)
        e.delivery.message_id = ToString(msg.properties.message_id);
      amqp_destroy_message(&msg);
      Post(std::move(e));
      return;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
      auto* m = static_cast<amqp_channel_close_t*>(frame.payload.method.decoded);
      Drop("channel closed by broker: " + ToString(m->reply_text));
      return;
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
      auto* m = static_cast<amqp_connection_close_t*>(frame.payload.method.decoded);
      Drop("connection closed by broker: " + ToString(m->reply_text));
      return;
    }
    case AMQP_BASIC_CANCEL_METHOD:
      Drop("consumer cancelled by broker");
      return;
    default:
      return;
  }
}

void Link::DrainFrames() {
  timeval zero{0, 0};
  while (conn_) {
    amqp_frame_t frame;
    amqp_maybe_release_buffers(conn_.get());
    int rc = amqp_simple_wait_frame_noblock(conn_.get(), &frame, &zero);
    if (rc == AMQP_STATUS_TIMEOUT) return;
    if (rc != AMQP_STATUS_OK) {
      Drop(amqp_error_string2(rc));
      return;
    }
    HandleFrame(frame);
  }
}

}  // namespace lambda::amqp

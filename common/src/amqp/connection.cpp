#include "lambda/amqp/connection.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include <algorithm>
#include <cstring>
#include <deque>

#include "lambda/log/log.h"
#include "lambda/util/util.h"
#include "lambda/uv/handle.h"

namespace lambda::amqp {

Result<Config> ParseUrl(std::string_view url, Config c) {
  constexpr std::string_view kScheme = "amqp://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Error{Code::kInvalidArgument, "amqp url must start with amqp://"};
  }
  std::string_view rest = url.substr(kScheme.size());
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view vhost = rest.substr(slash + 1);
    c.vhost = vhost.empty() ? "/" : util::UrlDecode(vhost, false);
    rest = rest.substr(0, slash);
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    auto colon = cred.find(':');
    c.user = util::UrlDecode(cred.substr(0, colon), false);
    c.password =
        colon == std::string_view::npos ? "" : util::UrlDecode(cred.substr(colon + 1), false);
    rest = rest.substr(at + 1);
  }
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    auto port = util::ParseInt(rest.substr(colon + 1));
    if (!port || *port <= 0 || *port > 65535)
      return Error{Code::kInvalidArgument, "amqp url: bad port"};
    c.port = static_cast<int>(*port);
    rest = rest.substr(0, colon);
  }
  if (!rest.empty()) c.host = std::string(rest);
  return c;
}

Topology::Topology(const std::string& prefix)
    : actions_exchange(prefix + ".actions"),
      actions_queue(prefix + ".actions"),
      retry_exchange(prefix + ".retry"),
      dead_exchange(prefix + ".dead"),
      dead_queue(prefix + ".dead") {}

Topology::RetryRoute Topology::RetryRouteFor(uint64_t delay_ms) {
  delay_ms = std::max<uint64_t>(delay_ms, 1);
  for (uint64_t tier : kRetryTiersMs) {
    if (delay_ms <= tier) return {std::to_string(tier), delay_ms, tier};
  }
  return {std::to_string(kRetryTiersMs.back()), kRetryTiersMs.back(), kRetryTiersMs.back()};
}

namespace {

constexpr amqp_channel_t kPublishChannel = 1;
constexpr amqp_channel_t kConsumeChannel = 2;

amqp_bytes_t Bytes(std::string_view s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}
std::string ToString(amqp_bytes_t b) { return {static_cast<const char*>(b.bytes), b.len}; }

std::string RpcError(const amqp_rpc_reply_t& r, const char* what) {
  std::string msg = what;
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return msg + ": ok";
    case AMQP_RESPONSE_NONE:
      return msg + ": missing RPC reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return msg + ": " + amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
        return msg + ": connection closed by broker: " + ToString(m->reply_text);
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return msg + ": channel closed by broker: " + ToString(m->reply_text);
      }
      return msg + ": broker error";
  }
  return msg;
}

/// An AMQP field table whose keys and values it owns (the entries point into them).
struct TableBuilder {
  std::vector<amqp_table_entry_t> entries;
  std::deque<std::string> storage;  // stable addresses
  void Str(std::string_view k, std::string_view v) {
    amqp_table_entry_t e{};
    e.key = Bytes(storage.emplace_back(k));
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = Bytes(storage.emplace_back(v));
    entries.push_back(e);
  }
  void Int(std::string_view k, int64_t v) {
    amqp_table_entry_t e{};
    e.key = Bytes(storage.emplace_back(k));
    e.value.kind = AMQP_FIELD_KIND_I64;
    e.value.value.i64 = v;
    entries.push_back(e);
  }
  amqp_table_t Table() {
    return amqp_table_t{static_cast<int>(entries.size()),
                        entries.empty() ? nullptr : entries.data()};
  }
};

}  // namespace

struct PendingPublish {
  uint64_t deadline_ms = 0;
  bool returned = false;
  std::function<void(Status)> done;
};

struct Connection::Impl {
  Impl(uv_loop_t* l, Config c, bool consume_, Handlers h)
      : loop(l),
        config(std::move(c)),
        topology(config.prefix),
        consume(consume_),
        handlers(std::move(h)),
        reconnect(l),
        deadlines(l) {}

  uv_loop_t* loop;
  Config config;
  Topology topology;
  bool consume;
  Handlers handlers;
  State state = State::kDisconnected;
  amqp_connection_state_t conn = nullptr;
  std::unique_ptr<uv::UvHandle<uv_poll_t>> poll;
  uv::Timer reconnect;
  uv::Timer deadlines;
  int reconnect_attempt = 0;
  uint64_t next_tag = 0;
  std::map<uint64_t, PendingPublish> pending;
  bool in_drain = false;
  std::string consumer_tag;

  void SetState(State s) {
    if (state == s || state == State::kStopped) return;
    state = s;
    static constexpr const char* kNames[] = {"disconnected", "connected", "stopped"};
    log::Info("amqp state", {{"state", kNames[static_cast<int>(s)]},
                             {"addr", config.host + ":" + std::to_string(config.port)}});
    if (handlers.on_state) handlers.on_state(s);
  }

  Status Setup();
  Status DeclareTopology();
  void Connect();
  void Drop(const std::string& why);
  void ScheduleReconnect();
  void Drain();
  void HandleFrame(const amqp_frame_t& frame);
  void Confirm(uint64_t tag, bool multiple, bool ack);
  void FailAll(const Error& e);
  void CheckDeadlines();
  static void OnPoll(uv_poll_t* h, int status, int events) noexcept;
};

Status Connection::Impl::DeclareTopology() {
  const auto& t = topology;
  auto check = [&](const char* what) -> Status {
    amqp_rpc_reply_t r = amqp_get_rpc_reply(conn);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) return Error{Code::kUnavailable, RpcError(r, what)};
    return OkStatus();
  };
  amqp_table_t none = amqp_empty_table;
  auto ch = kPublishChannel;
  for (const auto* ex : {&t.actions_exchange, &t.retry_exchange, &t.dead_exchange}) {
    amqp_exchange_declare(conn, ch, Bytes(*ex), amqp_cstring_bytes("direct"), 0, 1, 0, 0, none);
    if (auto st = check("exchange.declare"); !st) return st;
  }
  // Dead letters: a classic durable queue kept for inspection and replay.
  amqp_queue_declare(conn, ch, Bytes(t.dead_queue), 0, 1, 0, 0, none);
  if (auto st = check("queue.declare dead"); !st) return st;
  amqp_queue_bind(conn, ch, Bytes(t.dead_queue), Bytes(t.dead_exchange),
                  amqp_cstring_bytes(Topology::kDeadKey), none);
  if (auto st = check("queue.bind dead"); !st) return st;
  // Delayed retry (see Topology::kRetryTiersMs): expired messages go back to the actions queue.
  for (uint64_t tier : Topology::kRetryTiersMs) {
    TableBuilder args;
    args.Str("x-dead-letter-exchange", t.actions_exchange);
    args.Str("x-dead-letter-routing-key", Topology::kActionKey);
    args.Int("x-message-ttl", static_cast<int64_t>(tier));
    std::string queue = t.RetryQueue(tier);
    amqp_queue_declare(conn, ch, Bytes(queue), 0, 1, 0, 0, args.Table());
    if (auto st = check("queue.declare retry"); !st) return st;
    amqp_queue_bind(conn, ch, Bytes(queue), Bytes(t.retry_exchange), Bytes(std::to_string(tier)),
                    none);
    if (auto st = check("queue.bind retry"); !st) return st;
  }
  {
    TableBuilder args;
    args.Str("x-queue-type", config.queue_type);
    args.Str("x-dead-letter-exchange", t.dead_exchange);
    args.Str("x-dead-letter-routing-key", Topology::kDeadKey);
    if (config.queue_type == "quorum") args.Int("x-delivery-limit", config.delivery_limit);
    amqp_queue_declare(conn, ch, Bytes(t.actions_queue), 0, 1, 0, 0, args.Table());
    if (auto st = check("queue.declare actions"); !st) return st;
    amqp_queue_bind(conn, ch, Bytes(t.actions_queue), Bytes(t.actions_exchange),
                    amqp_cstring_bytes(Topology::kActionKey), none);
    if (auto st = check("queue.bind actions"); !st) return st;
  }
  return OkStatus();
}

Status Connection::Impl::Setup() {
  conn = amqp_new_connection();
  amqp_socket_t* sock = amqp_tcp_socket_new(conn);
  if (sock == nullptr) return Error{Code::kInternal, "amqp_tcp_socket_new failed"};
  timeval tv{2, 0};
  amqp_set_handshake_timeout(conn, &tv);
  amqp_set_rpc_timeout(conn, &tv);
  if (int rc = amqp_socket_open_noblock(sock, config.host.c_str(), config.port, &tv);
      rc != AMQP_STATUS_OK) {
    return Error{Code::kUnavailable, std::string("amqp connect: ") + amqp_error_string2(rc)};
  }
  amqp_rpc_reply_t r =
      amqp_login(conn, config.vhost.c_str(), 0, 131072, config.heartbeat_s, AMQP_SASL_METHOD_PLAIN,
                 config.user.c_str(), config.password.c_str());
  if (r.reply_type != AMQP_RESPONSE_NORMAL)
    return Error{Code::kUnavailable, RpcError(r, "amqp login")};
  amqp_channel_open(conn, kPublishChannel);
  if (r = amqp_get_rpc_reply(conn); r.reply_type != AMQP_RESPONSE_NORMAL) {
    return Error{Code::kUnavailable, RpcError(r, "channel.open")};
  }
  if (auto st = DeclareTopology(); !st) return st;
  amqp_confirm_select(conn, kPublishChannel);
  if (r = amqp_get_rpc_reply(conn); r.reply_type != AMQP_RESPONSE_NORMAL) {
    return Error{Code::kUnavailable, RpcError(r, "confirm.select")};
  }
  if (consume) {
    amqp_channel_open(conn, kConsumeChannel);
    if (r = amqp_get_rpc_reply(conn); r.reply_type != AMQP_RESPONSE_NORMAL) {
      return Error{Code::kUnavailable, RpcError(r, "channel.open consume")};
    }
    amqp_basic_qos(conn, kConsumeChannel, 0, static_cast<uint16_t>(config.prefetch), 0);
    if (r = amqp_get_rpc_reply(conn); r.reply_type != AMQP_RESPONSE_NORMAL) {
      return Error{Code::kUnavailable, RpcError(r, "basic.qos")};
    }
    auto* ok = amqp_basic_consume(conn, kConsumeChannel, Bytes(topology.actions_queue),
                                  amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    if (r = amqp_get_rpc_reply(conn); r.reply_type != AMQP_RESPONSE_NORMAL || ok == nullptr) {
      return Error{Code::kUnavailable, RpcError(r, "basic.consume")};
    }
    consumer_tag = ToString(ok->consumer_tag);
  }
  // RPCs are done: nothing may block from here on.
  amqp_set_rpc_timeout(conn, nullptr);
  return OkStatus();
}

void Connection::Impl::Connect() {
  if (state == State::kStopped) return;
  if (auto st = Setup(); !st) {
    log::Warn("amqp connect failed", {{"error", st.error().message}});
    if (conn != nullptr) {
      amqp_destroy_connection(conn);
      conn = nullptr;
    }
    ScheduleReconnect();
    return;
  }
  reconnect_attempt = 0;
  next_tag = 0;
  int fd = amqp_get_sockfd(conn);
  poll = std::make_unique<uv::UvHandle<uv_poll_t>>(
      [&](uv_poll_t* p) { return uv_poll_init_socket(loop, p, fd); });
  poll->get()->data = this;
  uv_poll_start(poll->get(), UV_READABLE | UV_DISCONNECT, &Impl::OnPoll);
  deadlines.Start(100, 100, [this] { CheckDeadlines(); });
  SetState(State::kConnected);
  // Setup's RPCs may have buffered deliveries or acks that no poll event will announce.
  Drain();
}

void Connection::Impl::ScheduleReconnect() {
  if (state == State::kStopped) return;
  uint64_t delay =
      util::BackoffMs(config.reconnect_min_ms, config.reconnect_max_ms, ++reconnect_attempt);
  reconnect.Start(delay, 0, [this] { Connect(); });
}

void Connection::Impl::Drop(const std::string& why) {
  if (conn == nullptr) return;
  log::Warn("amqp connection lost", {{"error", why}});
  poll.reset();  // stops polling before the fd is closed below
  deadlines.Stop();
  amqp_destroy_connection(conn);
  conn = nullptr;
  FailAll(Error{Code::kUnavailable, "amqp connection lost: " + why});
  SetState(State::kDisconnected);
  ScheduleReconnect();
}

void Connection::Impl::FailAll(const Error& e) {
  auto failed = std::move(pending);
  pending.clear();
  for (auto& [tag, p] : failed) p.done(e);
}

void Connection::Impl::CheckDeadlines() {
  uint64_t now = static_cast<uint64_t>(util::NowMs());
  while (!pending.empty() && pending.begin()->second.deadline_ms <= now) {
    auto node = pending.extract(pending.begin());
    node.mapped().done(Error{Code::kTimeout, "broker did not confirm in time"});
  }
}

void Connection::Impl::Confirm(uint64_t tag, bool multiple, bool ack) {
  auto finish = [&](PendingPublish& p) {
    if (!ack) {
      p.done(Error{Code::kUnavailable, "broker refused the message (nack)"});
    } else if (p.returned) {
      p.done(Error{Code::kUnavailable, "message was unroutable (returned)"});
    } else {
      p.done(OkStatus());
    }
  };
  if (multiple) {
    while (!pending.empty() && pending.begin()->first <= tag) {
      auto node = pending.extract(pending.begin());
      finish(node.mapped());
    }
  } else if (auto it = pending.find(tag); it != pending.end()) {
    auto node = pending.extract(it);
    finish(node.mapped());
  }
}

void Connection::Impl::HandleFrame(const amqp_frame_t& frame) {
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
      // The returned message's correlation_id names our delivery tag; its ack follows.
      amqp_message_t msg;
      amqp_rpc_reply_t r = amqp_read_message(conn, frame.channel, &msg, 0);
      if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        Drop(RpcError(r, "read returned message"));
        return;
      }
      if (msg.properties._flags & AMQP_BASIC_CORRELATION_ID_FLAG) {
        if (auto tag = util::ParseInt(ToString(msg.properties.correlation_id))) {
          if (auto it = pending.find(static_cast<uint64_t>(*tag)); it != pending.end()) {
            it->second.returned = true;
          }
        }
      }
      amqp_destroy_message(&msg);
      return;
    }
    case AMQP_BASIC_DELIVER_METHOD: {
      auto* m = static_cast<amqp_basic_deliver_t*>(frame.payload.method.decoded);
      Delivery d;
      d.tag = m->delivery_tag;
      d.redelivered = m->redelivered != 0;
      amqp_message_t msg;
      amqp_rpc_reply_t r = amqp_read_message(conn, frame.channel, &msg, 0);
      if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        Drop(RpcError(r, "read delivery"));
        return;
      }
      d.body = ToString(msg.body);
      if (msg.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
        d.message_id = ToString(msg.properties.message_id);
      amqp_destroy_message(&msg);
      if (handlers.on_delivery) handlers.on_delivery(std::move(d));
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

void Connection::Impl::Drain() {
  if (in_drain)
    return;  // a handler published or acked from inside a frame: the outer loop continues
  in_drain = true;
  timeval zero{0, 0};
  while (conn != nullptr) {
    amqp_frame_t frame;
    amqp_maybe_release_buffers(conn);
    int rc = amqp_simple_wait_frame_noblock(conn, &frame, &zero);
    if (rc == AMQP_STATUS_TIMEOUT) break;
    if (rc != AMQP_STATUS_OK) {
      in_drain = false;
      Drop(amqp_error_string2(rc));
      return;
    }
    HandleFrame(frame);
  }
  in_drain = false;
}

void Connection::Impl::OnPoll(uv_poll_t* h, int status, int /*events*/) noexcept {
  auto* self = static_cast<Impl*>(h->data);
  if (self == nullptr) return;
  try {
    if (status < 0) {
      self->Drop(std::string("poll: ") + uv_strerror(status));
      return;
    }
    self->Drain();
  } catch (const std::exception& e) {
    log::Error("amqp frame handling threw", {{"error", e.what()}});
  }
}

Connection::Connection(uv_loop_t* loop, Config config, bool consume, Handlers handlers)
    : impl_(std::make_unique<Impl>(loop, std::move(config), consume, std::move(handlers))) {}

Connection::~Connection() { Stop(); }

void Connection::Start() { impl_->Connect(); }

void Connection::Stop() {
  auto& i = *impl_;
  if (i.state == State::kStopped) return;
  i.SetState(State::kStopped);
  i.reconnect.Stop();
  i.deadlines.Stop();
  if (i.conn != nullptr) {
    i.poll.reset();
    amqp_connection_close(i.conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(i.conn);
    i.conn = nullptr;
  }
  i.FailAll(Error{Code::kUnavailable, "amqp connection stopped"});
}

Connection::State Connection::state() const { return impl_->state; }
const Topology& Connection::topology() const { return impl_->topology; }
size_t Connection::in_flight() const { return impl_->pending.size(); }

void Connection::Publish(const std::string& exchange, const std::string& routing_key,
                         std::string_view body, const PublishOptions& options,
                         std::function<void(Status)> done) {
  auto& i = *impl_;
  if (i.conn == nullptr || i.state != State::kConnected) {
    done(Error{Code::kUnavailable, "amqp is not connected"});
    return;
  }
  if (i.pending.size() >= i.config.max_in_flight) {
    done(Error{Code::kUnavailable, "too many unconfirmed publishes"});
    return;
  }
  uint64_t tag = ++i.next_tag;
  std::string tag_text = std::to_string(tag);
  amqp_basic_properties_t props{};
  props._flags =
      AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG;
  props.delivery_mode = 2;
  props.content_type = amqp_cstring_bytes("application/json");
  props.correlation_id = Bytes(tag_text);
  if (!options.message_id.empty()) {
    props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
    props.message_id = Bytes(options.message_id);
  }
  std::string expiration = std::to_string(options.expiration_ms);
  if (options.expiration_ms > 0) {
    props._flags |= AMQP_BASIC_EXPIRATION_FLAG;
    props.expiration = Bytes(expiration);
  }
  TableBuilder headers;
  for (const auto& [k, v] : options.headers) headers.Str(k, v);
  if (!headers.entries.empty()) {
    props._flags |= AMQP_BASIC_HEADERS_FLAG;
    props.headers = headers.Table();
  }
  int rc = amqp_basic_publish(i.conn, kPublishChannel, Bytes(exchange), Bytes(routing_key), 1, 0,
                              &props, Bytes(body));
  if (rc != AMQP_STATUS_OK) {
    done(Error{Code::kUnavailable, std::string("publish: ") + amqp_error_string2(rc)});
    i.Drop(amqp_error_string2(rc));
    return;
  }
  i.pending.emplace(
      tag, PendingPublish{static_cast<uint64_t>(util::NowMs()) + i.config.publish_timeout_ms, false,
                          std::move(done)});
}

Status Connection::Ack(uint64_t tag, bool multiple) {
  auto& i = *impl_;
  if (i.conn == nullptr) return Error{Code::kUnavailable, "amqp is not connected"};
  if (int rc = amqp_basic_ack(i.conn, kConsumeChannel, tag, multiple ? 1 : 0);
      rc != AMQP_STATUS_OK) {
    i.Drop(amqp_error_string2(rc));
    return Error{Code::kUnavailable, "ack failed"};
  }
  return OkStatus();
}

Status Connection::Reject(uint64_t tag, bool requeue) {
  auto& i = *impl_;
  if (i.conn == nullptr) return Error{Code::kUnavailable, "amqp is not connected"};
  if (int rc = amqp_basic_reject(i.conn, kConsumeChannel, tag, requeue ? 1 : 0);
      rc != AMQP_STATUS_OK) {
    i.Drop(amqp_error_string2(rc));
    return Error{Code::kUnavailable, "reject failed"};
  }
  return OkStatus();
}

void Connection::CancelConsumer() {
  auto& i = *impl_;
  if (i.conn == nullptr || !i.consume) return;
  if (i.consumer_tag.empty()) return;
  // nowait: no RPC on the loop; unacked deliveries stay ours and are acked through this channel.
  amqp_basic_cancel_t m{Bytes(i.consumer_tag), 1};
  if (int rc = amqp_send_method(i.conn, kConsumeChannel, AMQP_BASIC_CANCEL_METHOD, &m);
      rc != AMQP_STATUS_OK) {
    i.Drop(amqp_error_string2(rc));
    return;
  }
  i.consumer_tag.clear();
}

}  // namespace lambda::amqp

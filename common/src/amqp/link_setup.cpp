// A link's session, set up on each (re)connect: the topology declared, the publish channel in
// confirm mode, and the consume channel with its prefetch.
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include "lambda/log/log.h"
#include "link.h"
#include "wire.h"

namespace lambda::amqp {

using wire::Bytes;
using wire::kConsumeChannel;
using wire::kPublishChannel;
using wire::RpcError;
using wire::TableBuilder;
using wire::Timeval;
using wire::ToString;

Status Link::DeclareTopology() {
  amqp_connection_state_t conn = conn_.get();
  const auto& t = topology_;
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
  // Every queue has the actions queue's type: on a cluster, a classic queue lives on one node,
  // and while that node is down no other node can even declare it, so the survivors could not
  // set up. Quorum queues take message TTLs and dead-letter on expiry since RabbitMQ 3.10.
  const bool quorum = config_.queue_type == "quorum";
  // Dead letters: a durable queue kept for inspection and replay.
  TableBuilder dead_args;
  if (quorum) dead_args.Str("x-queue-type", "quorum");
  amqp_queue_declare(conn, ch, Bytes(t.dead_queue), 0, 1, 0, 0, dead_args.Table());
  if (auto st = check("queue.declare dead"); !st) return st;
  amqp_queue_bind(conn, ch, Bytes(t.dead_queue), Bytes(t.dead_exchange),
                  amqp_cstring_bytes(Topology::kDeadKey), none);
  if (auto st = check("queue.bind dead"); !st) return st;
  // Delayed retry (see Topology::kRetryTiersMs): expired messages go back to the actions queue.
  for (uint64_t tier : Topology::kRetryTiersMs) {
    TableBuilder args;
    if (quorum) args.Str("x-queue-type", "quorum");
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
  TableBuilder args;
  args.Str("x-queue-type", config_.queue_type);
  args.Str("x-dead-letter-exchange", t.dead_exchange);
  args.Str("x-dead-letter-routing-key", Topology::kDeadKey);
  if (quorum) args.Int("x-delivery-limit", config_.delivery_limit);
  amqp_queue_declare(conn, ch, Bytes(t.actions_queue), 0, 1, 0, 0, args.Table());
  if (auto st = check("queue.declare actions"); !st) return st;
  amqp_queue_bind(conn, ch, Bytes(t.actions_queue), Bytes(t.actions_exchange),
                  amqp_cstring_bytes(Topology::kActionKey), none);
  return check("queue.bind actions");
}

Status Link::Setup() {
  const Endpoint& node = endpoint();
  amqp_connection_state_t conn = conn_.Open();
  amqp_socket_t* sock = amqp_tcp_socket_new(conn);
  if (sock == nullptr) return Error{Code::kInternal, "amqp_tcp_socket_new failed"};
  timeval tv = Timeval(config_.rpc_timeout_ms);
  amqp_set_handshake_timeout(conn, &tv);
  amqp_set_rpc_timeout(conn, &tv);
  if (int rc = amqp_socket_open_noblock(sock, node.host.c_str(), node.port, &tv);
      rc != AMQP_STATUS_OK) {
    return Error{Code::kUnavailable, std::string("amqp connect: ") + amqp_error_string2(rc)};
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    socket_fd_ = amqp_get_sockfd(conn);
  }
  if (stop_) return Error{Code::kUnavailable, "stopping"};
  amqp_rpc_reply_t r = amqp_login(conn, node.vhost.c_str(), 0, 131072, config_.heartbeat_s,
                                  AMQP_SASL_METHOD_PLAIN, node.user.c_str(), node.password.c_str());
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
  if (consume_) {
    amqp_channel_open(conn, kConsumeChannel);
    if (r = amqp_get_rpc_reply(conn); r.reply_type != AMQP_RESPONSE_NORMAL) {
      return Error{Code::kUnavailable, RpcError(r, "channel.open consume")};
    }
    amqp_basic_qos(conn, kConsumeChannel, 0, static_cast<uint16_t>(config_.prefetch), 0);
    if (r = amqp_get_rpc_reply(conn); r.reply_type != AMQP_RESPONSE_NORMAL) {
      return Error{Code::kUnavailable, RpcError(r, "basic.qos")};
    }
    auto* ok = amqp_basic_consume(conn, kConsumeChannel, Bytes(topology_.actions_queue),
                                  amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    if (r = amqp_get_rpc_reply(conn); r.reply_type != AMQP_RESPONSE_NORMAL || ok == nullptr) {
      return Error{Code::kUnavailable, RpcError(r, "basic.consume")};
    }
    consumer_tag_ = ToString(ok->consumer_tag);
  }
  ++epoch_;
  next_tag_ = 0;
  up_ = true;
  log::Info("amqp connected",
            {{"addr", node.Addr()}, {"epoch", static_cast<unsigned long>(epoch_)}});
  return OkStatus();
}

}  // namespace lambda::amqp

#include "dlq.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <cstdio>

#include "lambda/amqp/config.h"

namespace lambda::ctl {
namespace {

/// A blocking rabbitmq-c connection for the CLI (one channel, confirms on).
struct AmqpCli {
  amqp_connection_state_t conn = amqp_new_connection();
  ~AmqpCli() {
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
  }
  /// The first node of the list that answers.
  bool Open(const amqp::Config& c) {
    for (const auto& node : c.endpoints) {
      if (Open(node)) return true;
      amqp_destroy_connection(conn);
      conn = amqp_new_connection();
    }
    return false;
  }
  bool Open(const amqp::Endpoint& e) {
    amqp_socket_t* s = amqp_tcp_socket_new(conn);
    if (amqp_socket_open(s, e.host.c_str(), e.port) != AMQP_STATUS_OK) return false;
    if (amqp_login(conn, e.vhost.c_str(), 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, e.user.c_str(),
                   e.password.c_str())
            .reply_type != AMQP_RESPONSE_NORMAL) {
      return false;
    }
    amqp_channel_open(conn, 1);
    if (amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL) return false;
    amqp_confirm_select(conn, 1);
    return amqp_get_rpc_reply(conn).reply_type == AMQP_RESPONSE_NORMAL;
  }
};

std::string Bytes(amqp_bytes_t b) { return {static_cast<const char*>(b.bytes), b.len}; }

}  // namespace

int RunDlq(const DlqArgs& args) {
  const std::string& verb = args.verb;
  auto cfg = amqp::ParseUrl(args.amqp_url);
  if (!cfg) {
    std::fprintf(stderr, "lambdactl: %s\n", cfg.error().message.c_str());
    return 2;
  }
  amqp::Topology topo(args.amqp_prefix);
  const int64_t max = args.max;
  AmqpCli cli;
  if (!cli.Open(*cfg)) {
    std::fprintf(stderr, "lambdactl: cannot connect to rabbitmq at %s\n",
                 cfg->endpoints.at(0).Addr().c_str());
    return 1;
  }
  amqp_bytes_t queue = amqp_cstring_bytes(topo.dead_queue.c_str());
  if (verb == "purge") {
    auto* ok = amqp_queue_purge(cli.conn, 1, queue);
    if (ok == nullptr) return 1;
    std::printf("purged %u\n", ok->message_count);
    return 0;
  }
  int64_t n = 0;
  uint64_t last_tag = 0;
  for (; n < max; ++n) {
    amqp_rpc_reply_t r = amqp_basic_get(cli.conn, 1, queue, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL || r.reply.id != AMQP_BASIC_GET_OK_METHOD) break;
    uint64_t tag = static_cast<amqp_basic_get_ok_t*>(r.reply.decoded)->delivery_tag;
    last_tag = tag;
    amqp_message_t msg;
    if (amqp_read_message(cli.conn, 1, &msg, 0).reply_type != AMQP_RESPONSE_NORMAL) break;
    std::string reason;
    for (int i = 0; i < msg.properties.headers.num_entries; ++i) {
      const auto& e = msg.properties.headers.entries[i];
      if (Bytes(e.key) == "x-lambda-reason" && e.value.kind == AMQP_FIELD_KIND_UTF8)
        reason = Bytes(e.value.value.bytes);
    }
    std::string body = Bytes(msg.body);
    if (verb == "list") {
      std::printf("%s\treason=%s\t%s\n",
                  (msg.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
                      ? Bytes(msg.properties.message_id).c_str()
                      : "-",
                  reason.c_str(), body.c_str());
    } else {  // replay: republish, wait for the confirm, then drop it from the DLQ
      amqp_basic_properties_t props{};
      props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
      props.delivery_mode = 2;
      props.content_type = amqp_cstring_bytes("application/json");
      amqp_basic_publish(cli.conn, 1, amqp_cstring_bytes(topo.actions_exchange.c_str()),
                         amqp_cstring_bytes(amqp::Topology::kActionKey), 0, 0, &props, msg.body);
      amqp_frame_t frame;
      timeval tv{10, 0};
      bool confirmed = amqp_simple_wait_frame_noblock(cli.conn, &frame, &tv) == AMQP_STATUS_OK &&
                       frame.frame_type == AMQP_FRAME_METHOD &&
                       frame.payload.method.id == AMQP_BASIC_ACK_METHOD;
      amqp_destroy_message(&msg);
      if (!confirmed) {
        std::fprintf(stderr, "lambdactl: the broker did not confirm a replay; stopping\n");
        return 1;
      }
      amqp_basic_ack(cli.conn, 1, tag, 0);
      continue;
    }
    amqp_destroy_message(&msg);
  }
  // list leaves every message in place: one nack (multiple, requeue) hands them all back.
  if (verb == "list" && last_tag > 0) amqp_basic_nack(cli.conn, 1, last_tag, 1, 1);
  std::fprintf(stderr, "%s %lld dead-lettered command(s)\n", verb == "list" ? "listed" : "replayed",
               static_cast<long long>(n));
  return 0;
}

}  // namespace lambda::ctl

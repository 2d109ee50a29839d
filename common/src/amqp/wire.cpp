#include "wire.h"

#include <amqp_framing.h>

namespace lambda::amqp::wire {

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

}  // namespace lambda::amqp::wire

// The broker ceiling for scripts/bench: plain rabbitmq-c, persistent messages, publisher confirms
// with a window of unconfirmed messages, and (in pubsub mode) a consumer acking every message,
// both at once through one durable queue of the chosen type.
//   raw_amqp --port P --queue-type quorum|classic --seconds S --inflight 64 --prefetch 100 --mode
//   publish|pubsub [--body-bytes 420]
// Prints: msgs_per_s N, confirm_p99_ms X
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

amqp_connection_state_t Open(int port) {
  amqp_connection_state_t c = amqp_new_connection();
  amqp_socket_t* s = amqp_tcp_socket_new(c);
  if (amqp_socket_open(s, "127.0.0.1", port) != AMQP_STATUS_OK) {
    std::fprintf(stderr, "raw_amqp: cannot connect to 127.0.0.1:%d\n", port);
    std::exit(1);
  }
  if (amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type !=
      AMQP_RESPONSE_NORMAL) {
    std::fprintf(stderr, "raw_amqp: login failed\n");
    std::exit(1);
  }
  amqp_channel_open(c, 1);
  amqp_get_rpc_reply(c);
  return c;
}

void Close(amqp_connection_state_t c) {
  amqp_connection_close(c, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(c);
}

}  // namespace

int main(int argc, char** argv) {
  int port = 5672, seconds = 5, inflight = 64, prefetch = 100, body_bytes = 420;
  std::string type = "quorum", mode = "pubsub";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--port")
      port = std::atoi(v.c_str());
    else if (k == "--seconds")
      seconds = std::atoi(v.c_str());
    else if (k == "--inflight")
      inflight = std::atoi(v.c_str());
    else if (k == "--body-bytes")
      body_bytes = std::max(1, std::atoi(v.c_str()));
    else if (k == "--prefetch")
      prefetch = std::atoi(v.c_str());
    else if (k == "--queue-type")
      type = v;
    else if (k == "--mode")
      mode = v;
  }
  std::string queue = "raw_bench_" + type + "_" + std::to_string(::getpid());
  amqp_connection_state_t pub = Open(port);
  {
    amqp_table_entry_t e{};
    e.key = amqp_cstring_bytes("x-queue-type");
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = amqp_cstring_bytes(type.c_str());
    amqp_table_t args{1, &e};
    amqp_queue_declare(pub, 1, amqp_cstring_bytes(queue.c_str()), 0, 1, 0, 0, args);
    if (amqp_get_rpc_reply(pub).reply_type != AMQP_RESPONSE_NORMAL) {
      std::fprintf(stderr, "raw_amqp: queue.declare failed\n");
      return 1;
    }
  }
  amqp_confirm_select(pub, 1);
  amqp_get_rpc_reply(pub);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> consumed{0};
  std::thread consumer;
  if (mode == "pubsub") {
    consumer = std::thread([&] {
      amqp_connection_state_t c = Open(port);
      amqp_basic_qos(c, 1, 0, static_cast<uint16_t>(prefetch), 0);
      amqp_basic_consume(c, 1, amqp_cstring_bytes(queue.c_str()), amqp_empty_bytes, 0, 0, 0,
                         amqp_empty_table);
      amqp_get_rpc_reply(c);
      timeval tv{0, 200000};
      while (!stop) {
        amqp_envelope_t env;
        amqp_maybe_release_buffers(c);
        amqp_rpc_reply_t r = amqp_consume_message(c, &env, &tv, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL) continue;
        amqp_basic_ack(c, 1, env.delivery_tag, 0);
        amqp_destroy_envelope(&env);
        ++consumed;
      }
      Close(c);
    });
  }

  // 420 bytes is about one of our commands; the shim packs many into one message.
  std::string body(static_cast<size_t>(body_bytes), 'x');
  amqp_basic_properties_t props{};
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
  props.delivery_mode = 2;
  props.content_type = amqp_cstring_bytes("application/json");
  std::deque<std::pair<uint64_t, Clock::time_point>> window;
  std::vector<double> latencies;
  uint64_t tag = 0, confirmed = 0;
  auto start = Clock::now();
  auto end = start + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    while (static_cast<int>(window.size()) < inflight) {
      amqp_basic_publish(pub, 1, amqp_empty_bytes, amqp_cstring_bytes(queue.c_str()), 0, 0, &props,
                         amqp_bytes_t{body.size(), body.data()});
      window.emplace_back(++tag, Clock::now());
    }
    amqp_frame_t f;
    timeval tv{1, 0};
    if (amqp_simple_wait_frame_noblock(pub, &f, &tv) != AMQP_STATUS_OK) continue;
    if (f.frame_type != AMQP_FRAME_METHOD || f.payload.method.id != AMQP_BASIC_ACK_METHOD) continue;
    auto* ack = static_cast<amqp_basic_ack_t*>(f.payload.method.decoded);
    auto now = Clock::now();
    while (!window.empty() && (window.front().first <= ack->delivery_tag) &&
           (ack->multiple || window.front().first == ack->delivery_tag)) {
      latencies.push_back(
          std::chrono::duration<double, std::milli>(now - window.front().second).count());
      window.pop_front();
      ++confirmed;
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  if (consumer.joinable()) consumer.join();
  std::sort(latencies.begin(), latencies.end());
  double p99 = latencies.empty() ? 0 : latencies[static_cast<size_t>(latencies.size() * 0.99)];
  uint64_t done = mode == "pubsub" ? std::min<uint64_t>(consumed, confirmed) : confirmed;
  std::printf("msgs_per_s %.1f\nconfirm_p99_ms %.2f\n", done / secs, p99);
  amqp_queue_delete(pub, 1, amqp_cstring_bytes(queue.c_str()), 0, 0);
  Close(pub);
  return 0;
}

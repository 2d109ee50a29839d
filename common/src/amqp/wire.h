#pragma once
// The AMQP wire details the link's parts share (internal to common/src/amqp): its two channels,
// rabbitmq-c byte strings, RPC replies as text, and field tables that own their bytes.
#include <amqp.h>
#include <amqp_framing.h>
#include <sys/time.h>

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace lambda::amqp::wire {

constexpr amqp_channel_t kPublishChannel = 1;
constexpr amqp_channel_t kConsumeChannel = 2;

/// A view of `s` as rabbitmq-c bytes (rabbitmq-c does not write through it).
inline amqp_bytes_t Bytes(std::string_view s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}
inline std::string ToString(amqp_bytes_t b) { return {static_cast<const char*>(b.bytes), b.len}; }
inline timeval Timeval(uint64_t ms) {
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

/// `what` and why an RPC failed, as the broker or the library said it.
std::string RpcError(const amqp_rpc_reply_t& r, const char* what);

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

}  // namespace lambda::amqp::wire

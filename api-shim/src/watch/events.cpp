#include "watch/events.h"

#include <charconv>
#include <cstdint>

#include "lambda/json/json.h"
#include "lambda/util/util.h"
#include "routes/shape.h"

namespace lambda::watch {
namespace {

using json::Key;
using json::KV;
using routes::StatusObject;

void WriteEntry(json::Writer& w, std::string_view instance_id, const HistoryEntry& e) {
  w.StartObject();
  KV(w, "event_id", e.entry_id);
  KV(w, "instance_id", instance_id);
  Key(w, "status");
  StatusObject(w, e.status);
  KV(w, "gen", e.gen);
  KV(w, "request_id", e.request_id);
  Key(w, "worker");
  if (e.worker.empty()) {
    w.Null();
  } else {
    json::Str(w, e.worker);
  }
  KV(w, "at", util::Rfc3339(e.at_ms));
  KV(w, "at_ms", e.at_ms);
  if (!e.note.empty()) KV(w, "note", e.note);
  if (!e.reason.empty()) KV(w, "reason", e.reason);
  if (!e.key_id.empty()) {
    Key(w, "actor");
    w.StartObject();
    KV(w, "key_id", e.key_id);
    KV(w, "key_name", e.key_name);
    w.EndObject();
    KV(w, "client", e.client);
    KV(w, "dialect", e.dialect);
  }
  w.EndObject();
}

}  // namespace

Result<std::vector<domain::InstanceStatus>> ParseWaitFor(std::string_view text) {
  std::vector<domain::InstanceStatus> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view item =
        util::Trim(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
    if (item.empty()) return Error{Code::kInvalidArgument, "wait_for: an empty status name"};
    std::optional<domain::InstanceStatus> s;
    if (auto code = util::ParseInt(item)) {
      s = domain::FromCode(static_cast<int>(*code));
    } else {
      std::string upper(item);
      for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      s = domain::FromName(upper);
    }
    if (!s) {
      return Error{Code::kInvalidArgument,
                   "wait_for: unknown status '" + util::ToValidUtf8(item.substr(0, 64)) +
                       "' (use names such as STARTED,STOPPED,FAILED or their codes)"};
    }
    out.push_back(*s);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (out.size() > static_cast<size_t>(domain::kStatusCount)) {
    return Error{Code::kInvalidArgument, "wait_for: too many statuses"};
  }
  return out;
}

Result<uint64_t> ParseTimeoutSeconds(std::string_view text) {
  auto v = util::ParseInt(text);
  if (!v || *v < 0 || static_cast<uint64_t>(*v) > kMaxWaitSeconds) {
    return Error{Code::kInvalidArgument, "timeout: whole seconds from 0 to " +
                                             std::to_string(kMaxWaitSeconds) + " expected"};
  }
  return static_cast<uint64_t>(*v);
}

bool IsEntryId(std::string_view text) {
  auto dash = text.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == text.size() || text.size() > 41)
    return false;
  // Both parts are what Redis takes: unsigned 64-bit numbers (a larger one is a Redis error).
  auto part = [](std::string_view p) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    return ec == std::errc() && end == p.data() + p.size();
  };
  return part(text.substr(0, dash)) && part(text.substr(dash + 1));
}

std::optional<Notification> ParseNotification(std::string_view payload) {
  auto s1 = payload.find(' ');
  if (s1 == std::string_view::npos) return std::nullopt;
  auto s2 = payload.find(' ', s1 + 1);
  if (s2 == std::string_view::npos) return std::nullopt;
  auto code = util::ParseInt(payload.substr(s1 + 1, s2 - s1 - 1));
  auto s3 = payload.find(' ', s2 + 1);
  auto gen =
      util::ParseInt(payload.substr(s2 + 1, s3 == std::string_view::npos ? s3 : s3 - s2 - 1));
  if (!code || !gen || s1 == 0) return std::nullopt;
  Notification n{std::string(payload.substr(0, s1)), static_cast<int>(*code), *gen, {}, {}};
  if (s3 == std::string_view::npos) return n;
  auto s4 = payload.find(' ', s3 + 1);
  // An empty owner (a record without one) still wakes the instance's watchers; the tenant
  // streams look the owner up instead.
  if (s4 == std::string_view::npos) return std::nullopt;
  n.entry_id = std::string(payload.substr(s3 + 1, s4 - s3 - 1));
  if (!IsEntryId(n.entry_id)) return std::nullopt;
  n.owner = std::string(payload.substr(s4 + 1));
  return n;
}

std::vector<HistoryEntry> EntriesFromReply(const redis::Value& reply) {
  std::vector<HistoryEntry> out;
  if (reply.type != redis::Value::Type::kArray) return out;
  out.reserve(reply.elements.size());
  for (const auto& item : reply.elements) {
    if (item.elements.size() != 2 || item.elements[0].str.empty()) continue;
    HistoryEntry e;
    e.entry_id = item.elements[0].str;
    bool has_status = false;
    const auto& kv = item.elements[1].elements;
    for (size_t i = 0; i + 1 < kv.size(); i += 2) {
      const std::string& k = kv[i].str;
      const redis::Value& v = kv[i + 1];
      if (k == "status") {
        if (auto s = domain::FromCode(static_cast<int>(v.AsInt(-1)))) {
          e.status = *s;
          has_status = true;
        }
      } else if (k == "gen") {
        e.gen = v.AsInt();
      } else if (k == "request_id") {
        e.request_id = v.str;
      } else if (k == "worker") {
        e.worker = v.str;
      } else if (k == "note") {
        e.note = v.str;
      } else if (k == "reason") {
        e.reason = v.str;
      } else if (k == "at") {
        e.at_ms = v.AsInt();
      } else if (k == "key_id") {
        e.key_id = v.str;
      } else if (k == "key_name") {
        e.key_name = v.str;
      } else if (k == "client") {
        e.client = v.str;
      } else if (k == "dialect") {
        e.dialect = v.str;
      }
    }
    if (has_status) out.push_back(std::move(e));
  }
  return out;
}

std::string EntryJson(std::string_view instance_id, const HistoryEntry& e) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  WriteEntry(w, instance_id, e);
  return {sb.GetString(), sb.GetSize()};
}

std::string HistoryBody(std::string_view instance_id, const std::vector<HistoryEntry>& entries) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  Key(w, "status");
  w.StartObject();
  KV(w, "code", 200);
  KV(w, "short_description", "Lambda instance events");
  w.EndObject();
  Key(w, "data");
  w.StartArray();
  for (const auto& e : entries) WriteEntry(w, instance_id, e);
  w.EndArray();
  w.EndObject();
  return {sb.GetString(), sb.GetSize()};
}

std::string SseFrame(std::string_view instance_id, const HistoryEntry& e) {
  std::string out = "id: ";
  out += e.entry_id;
  out += "\nevent: status\ndata: ";
  out += EntryJson(instance_id, e);
  out += "\n\n";
  return out;
}

std::string TenantFrame(const Notification& n, std::string_view id) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  if (!n.entry_id.empty()) KV(w, "event_id", n.entry_id);
  KV(w, "instance_id", n.instance_id);
  Key(w, "status");
  StatusObject(w, domain::FromCode(n.status_code).value_or(domain::InstanceStatus::kPending));
  KV(w, "gen", n.gen);
  w.EndObject();
  std::string out;
  if (!id.empty()) {
    out += "id: ";
    out += id;
    out += '\n';
  }
  out += "event: status\ndata: ";
  out.append(sb.GetString(), sb.GetSize());
  out += "\n\n";
  return out;
}

std::string ResetFrame(std::string_view reason, std::string_view id) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  KV(w, "reason", reason);
  w.EndObject();
  std::string out;
  if (!id.empty()) out.append("id: ").append(id).append("\n");
  out += "event: reset\ndata: ";
  out.append(sb.GetString(), sb.GetSize());
  out += "\n\n";
  return out;
}

}  // namespace lambda::watch

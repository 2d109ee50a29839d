#include "routes/shape.h"

#include "lambda/json/json.h"
#include "lambda/util/util.h"

namespace lambda::routes {
namespace {

using json::Key;
using json::KV;
using json::Str;

std::string Done(const rapidjson::StringBuffer& sb) { return {sb.GetString(), sb.GetSize()}; }

void Header(json::Writer& w, int code, std::string_view key, std::string_view text) {
  Key(w, "status");
  w.StartObject();
  KV(w, "code", code);
  KV(w, key, text);
  w.EndObject();
}

}  // namespace

void StatusObject(json::Writer& w, domain::InstanceStatus s, std::string_view failure) {
  const auto& info = domain::Info(s);
  w.StartObject();
  KV(w, "message", info.name);
  KV(w, "code", std::to_string(domain::CodeOf(s)));
  KV(w, "detail", info.detail);
  if (!failure.empty()) KV(w, "failure_message", failure);
  w.EndObject();
}

void EmbedJson(json::Writer& w, std::string_view text, std::string_view fallback) {
  json::Document d;
  if (!json::Parse(text, &d, "stored record")) (void)json::Parse(fallback, &d, "fallback");
  d.Accept(w);
}

std::optional<InstanceRecord> RecordFromHash(
    const std::vector<std::pair<std::string, std::string>>& kv) {
  if (kv.empty()) return std::nullopt;
  InstanceRecord r;
  for (const auto& [k, v] : kv) {
    if (k == "id") {
      r.id = v;
    } else if (k == "seq") {
      r.seq = util::ParseInt(v).value_or(0);
    } else if (k == "name") {
      r.name = v;
    } else if (k == "owner") {
      r.owner = v;
    } else if (k == "status") {
      r.status = domain::FromCode(static_cast<int>(util::ParseInt(v).value_or(2)))
                     .value_or(domain::InstanceStatus::kPending);
    } else if (k == "failure_message") {
      r.failure_message = v;
    } else if (k == "info") {
      r.info_json = v;
    } else if (k == "servers") {
      r.servers_json = v;
    } else if (k == "master_node_id") {
      r.master_node_id = v;
    } else if (k == "created_at") {
      r.created_at = v;
    } else if (k == "updated_at") {
      r.updated_at = v;
    } else if (k == "mode") {
      r.mode = v;
    } else if (k == "p_action") {
      r.pending_action = v;
    }
  }
  if (r.id.empty()) return std::nullopt;
  return r;
}

std::string ErrorBody(int status, std::string_view detail) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  Key(w, "errors");
  w.StartArray();
  w.StartObject();
  KV(w, "status", status);
  KV(w, "detail", detail);
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return Done(sb);
}

std::string ValidationErrorBody(int status, const std::vector<std::string>& details) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  Key(w, "errors");
  w.StartArray();
  w.StartObject();
  KV(w, "status", status);
  Key(w, "detail");
  w.StartArray();
  for (const auto& d : details) Str(w, d);
  w.EndArray();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return Done(sb);
}

std::string CreateAccepted(std::string_view id, std::string_view self_url) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  Header(w, 202, "short_description",
         "Your request to create a new lambda instance has been accepted");
  Key(w, "data");
  w.StartArray();
  w.StartObject();
  KV(w, "id", id);
  Key(w, "links");
  w.StartObject();
  KV(w, "self", self_url);
  w.EndObject();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return Done(sb);
}

std::string ActionAccepted() {
  return R"({"status":{"code":202,"short-description":"Your request has been accepted"}})";
}

std::string DestroyAccepted() {
  return R"({"status":{"code":202,"short-description":"Your request to destroy the specified lambda instance has been accepted"}})";
}

std::string AuthenticateOk() { return R"({"result":"success"})"; }

std::string CountBody(int64_t n) {
  return R"({"status":{"code":200,"short_description":"Number of Lambda Instances"},"data":[{"count":)" +
         std::to_string(n) + "}]}";
}

static void TagsMember(json::Writer& w, const std::optional<domain::Tags>& tags) {
  if (!tags) return;
  Key(w, "tags");
  w.StartObject();
  for (const auto& [k, v] : *tags) KV(w, k, v);
  w.EndObject();
}

std::string ListBody(const std::vector<ListRow>& rows, const std::optional<Pagination>& page) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  Header(w, 200, "short_description", "Lambda instances");
  Key(w, "data");
  w.StartArray();
  for (const auto& r : rows) {
    w.StartObject();
    KV(w, "id", r.id);
    KV(w, "name", r.name);
    Key(w, "status");
    StatusObject(w, r.status, r.failure_message);
    TagsMember(w, r.tags);
    w.EndObject();
  }
  w.EndArray();
  if (page) {
    Key(w, "pagination");
    w.StartObject();
    KV(w, "count", page->count);
    Key(w, "next");
    if (page->next) {
      Str(w, *page->next);
    } else {
      w.Null();
    }
    Key(w, "previous");
    if (page->previous) {
      Str(w, *page->previous);
    } else {
      w.Null();
    }
    w.EndObject();
  }
  w.EndObject();
  return Done(sb);
}

std::string InstanceInfo(const InstanceRecord& r) {
  json::Document d;
  if (!json::Parse(r.info_json, &d, "stored record") || !d.IsObject()) d.SetObject();
  if (!r.master_node_id.empty()) {
    d.RemoveMember("master_node_id");
    d.AddMember("master_node_id", rapidjson::Value(r.master_node_id.c_str(), d.GetAllocator()),
                d.GetAllocator());
  }
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  d.Accept(w);
  return Done(sb);
}

std::string DetailsBody(const InstanceRecord& r, DetailsFilter filter) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  Header(w, 200, "short_description", "Lambda instance details");
  Key(w, "data");
  w.StartArray();
  w.StartObject();
  KV(w, "id", r.id);
  KV(w, "name", r.name);
  if (filter != DetailsFilter::kStatus) {
    Key(w, "info");
    w.StartObject();
    KV(w, "id", r.id);
    KV(w, "name", r.name);
    Key(w, "instance_info");
    EmbedJson(w, InstanceInfo(r), "{}");
    w.EndObject();
  }
  if (filter != DetailsFilter::kInfo) {
    Key(w, "status");
    StatusObject(w, r.status, r.failure_message);
  }
  if (filter == DetailsFilter::kAll) {
    Key(w, "servers");
    EmbedJson(w, r.servers_json, "[]");
    KV(w, "created_at", r.created_at);
    KV(w, "updated_at", r.updated_at);
    TagsMember(w, r.tags);
  }
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return Done(sb);
}

std::string TagsBody(std::string_view id, const domain::Tags& tags) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  Header(w, 200, "short_description", "Lambda instance tags");
  Key(w, "data");
  w.StartArray();
  w.StartObject();
  KV(w, "id", id);
  TagsMember(w, tags);
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return Done(sb);
}

}  // namespace lambda::routes

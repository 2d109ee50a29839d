#include "providers/provider.h"

#include "lambda/json/json.h"

namespace lambda::worker {

Result<InstanceSpec> SpecFromInfo(const std::string& id, const std::string& info_json) {
  rapidjson::Document d;
  if (auto st = json::Parse(info_json, &d); !st) return st.error();
  if (!d.IsObject()) return Error{Code::kInvalidArgument, "instance_info: not an object"};
  InstanceSpec s;
  s.id = id;
  auto str = [&](const char* k, std::string* out) {
    auto it = d.FindMember(k);
    if (it != d.MemberEnd() && it->value.IsString())
      out->assign(it->value.GetString(), it->value.GetStringLength());
  };
  str("instance_name", &s.name);
  str("master_name", &s.master_name);
  str("ip_allocation", &s.ip_allocation);
  if (auto it = d.FindMember("slaves"); it != d.MemberEnd() && it->value.IsInt())
    s.slaves = it->value.GetInt();
  if (auto it = d.FindMember("simulate"); it != d.MemberEnd() && it->value.IsObject()) {
    const auto& sim = it->value;
    if (auto f = sim.FindMember("fail_at"); f != sim.MemberEnd() && f->value.IsString())
      s.fail_at = f->value.GetString();
    if (auto m = sim.FindMember("step_ms"); m != sim.MemberEnd() && m->value.IsInt64())
      s.step_ms = m->value.GetInt64();
  }
  if (s.master_name.empty()) s.master_name = s.name + "-master";
  return s;
}

std::string ServersToJson(const std::vector<ServerInfo>& servers) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartArray();
  for (const auto& s : servers) {
    w.StartObject();
    json::KV(w, "id", s.id);
    json::KV(w, "name", s.name);
    json::KV(w, "role", s.role);
    json::KV(w, "status", s.status);
    json::KV(w, "private_ip", s.private_ip);
    json::Key(w, "public_ip");
    if (s.public_ip.empty()) {
      w.Null();
    } else {
      json::Str(w, s.public_ip);
    }
    w.EndObject();
  }
  w.EndArray();
  return {sb.GetString(), sb.GetSize()};
}

std::vector<ServerInfo> ServersFromJson(const std::string& text) {
  std::vector<ServerInfo> out;
  rapidjson::Document d;
  if (!json::Parse(text, &d, "stored servers") || !d.IsArray()) return out;
  for (const auto& v : d.GetArray()) {
    if (!v.IsObject()) continue;
    ServerInfo s;
    auto get = [&](const char* k) -> std::string {
      auto it = v.FindMember(k);
      return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
    };
    s.id = get("id");
    s.name = get("name");
    s.role = get("role");
    s.status = get("status");
    s.private_ip = get("private_ip");
    s.public_ip = get("public_ip");
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace lambda::worker

#include "providers/provider.h"

#include <type_traits>

#include "lambda/json/json.h"

namespace lambda::worker {

std::string VmName(const std::string& instance_id, int index) {
  if (index == 0) return "lambda-" + instance_id + "-master";
  return "lambda-" + instance_id + "-slave-" + std::to_string(index);
}

std::vector<ServerInfo> PlannedServers(const InstanceSpec& spec) {
  std::vector<ServerInfo> out;
  for (int i = 0; i <= spec.slaves; ++i) {
    ServerInfo s;
    s.name = VmName(spec.id, i);
    s.role = i == 0 ? "master" : "slave";
    out.push_back(std::move(s));
  }
  return out;
}

bool IsEffect(const std::string& outcome) {
  return outcome == "created" || outcome == "started" || outcome == "stopped" ||
         outcome == "destroyed";
}

Result<InstanceSpec> SpecFromInfo(const std::string& id, const std::string& info_json) {
  json::Document d;
  // Stored by the admission after json::Parse and the schema accepted it.
  if (auto st = json::ParseStored(info_json, &d, "instance_info"); !st) return st.error();
  if (!d.IsObject()) return Error{Code::kInvalidArgument, "instance_info: not an object"};
  InstanceSpec s;
  s.id = id;
  s.info_json = info_json;
  auto str = [&](const char* k, std::string* out) {
    auto it = d.FindMember(k);
    if (it != d.MemberEnd() && it->value.IsString())
      out->assign(it->value.GetString(), it->value.GetStringLength());
  };
  // Stored specs were validated against the create schema (or a dialect's mapping) on
  // admission; absent sizes keep the schema's minimums.
  auto num = [&](const char* k, auto* out) {
    auto it = d.FindMember(k);
    if (it != d.MemberEnd() && it->value.IsInt64() && it->value.GetInt64() > 0)
      *out = static_cast<std::remove_pointer_t<decltype(out)>>(it->value.GetInt64());
  };
  str("instance_name", &s.name);
  str("master_name", &s.master_name);
  str("project_name", &s.project_name);
  str("ip_allocation", &s.ip_allocation);
  str("public_key_name", &s.public_key_name);
  if (auto it = d.FindMember("slaves"); it != d.MemberEnd() && it->value.IsInt())
    s.slaves = it->value.GetInt();
  if (s.slaves < 0) return Error{Code::kInvalidArgument, "instance_info: slaves below 0"};
  num("vcpus_master", &s.vcpus_master);
  num("vcpus_slave", &s.vcpus_slave);
  num("ram_master", &s.ram_master_mib);
  num("ram_slave", &s.ram_slave_mib);
  num("disk_master", &s.disk_master_gib);
  num("disk_slave", &s.disk_slave_gib);
  num("network_request", &s.network_request);
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
    if (s.ssh_port != 0) {
      json::Key(w, "ssh_port");
      w.Int(s.ssh_port);
    }
    w.EndObject();
  }
  w.EndArray();
  return {sb.GetString(), sb.GetSize()};
}

std::vector<ServerInfo> ServersFromJson(const std::string& text) {
  std::vector<ServerInfo> out;
  json::Document d;
  if (!json::ParseStored(text, &d, "stored servers") || !d.IsArray()) return out;
  for (const auto& v : d.GetArray()) {
    if (!v.IsObject()) continue;
    ServerInfo s;
    auto get = [&](const char* k) -> std::string {
      auto it = v.FindMember(k);
      return it != v.MemberEnd() && it->value.IsString()
                 ? std::string(it->value.GetString(), it->value.GetStringLength())
                 : "";
    };
    s.id = get("id");
    s.name = get("name");
    s.role = get("role");
    s.status = get("status");
    s.private_ip = get("private_ip");
    s.public_ip = get("public_ip");
    if (auto it = v.FindMember("ssh_port"); it != v.MemberEnd() && it->value.IsInt())
      s.ssh_port = it->value.GetInt();
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace lambda::worker

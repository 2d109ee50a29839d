#include "client_logic.h"

#include <rapidjson/document.h>

#include <cctype>
#include <cstdio>

#include "lambda/domain/tenant_limits.h"
#include "lambda/json/json.h"
#include "lambda/util/util.h"

namespace lambda::ctl {

std::map<std::string, std::string> ParseEnvFile(std::string_view text) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        util::Trim(text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos));
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("export ", 0) == 0) line = util::Trim(line.substr(7));
    auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    std::string_view value = util::Trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    out[std::string(util::Trim(line.substr(0, eq)))] = std::string(value);
  }
  return out;
}

namespace {
/// The length of the well-formed UTF-8 sequence at `i` (2..4 bytes), or 0.
size_t Utf8Length(std::string_view t, size_t i) {
  auto byte = [&t](size_t k) { return static_cast<unsigned char>(t[k]); };
  auto cont = [&](size_t k) { return k < t.size() && (byte(k) & 0xC0) == 0x80; };
  unsigned char c = byte(i);
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && byte(i + 1) < 0xA0) return 0;  // overlong
    if (c == 0xED && byte(i + 1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && byte(i + 1) < 0x90) return 0;
    if (c == 0xF4 && byte(i + 1) > 0x8F) return 0;
    return 4;
  }
  return 0;
}

/// `prefix` and `value` as `digits` lowercase hex digits ("\\x" 1b, "\\u" 009b).
std::string Hex(const char* prefix, unsigned value, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = prefix;
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out += kDigits[(value >> shift) & 0xF];
  return out;
}
}  // namespace

std::string ForTerminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : Utf8Length(text, i);  // 0: not UTF-8
    if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c == 0x7F || n == 0) {
      out += Hex("\\x", c, 2);
      n = 1;
    } else if (n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      out += Hex("\\u", static_cast<unsigned char>(text[i + 1]), 4);  // C1: U+0080..U+009F
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string JsonForTerminal(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    auto c = static_cast<unsigned char>(json[i]);
    if (c == 0x7F) {
      out += "\\u007f";
    } else if (c == 0xC2 && i + 1 < json.size() &&
               (static_cast<unsigned char>(json[i + 1]) & 0xE0) == 0x80) {
      out += Hex("\\u", static_cast<unsigned char>(json[i + 1]), 4);
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

Exit ExitForHttp(long status) { return status >= 400 && status < 500 ? kRefused : kUnreachable; }

std::string ErrorText(std::string_view body) {
  rapidjson::Document d;
  if (json::Parse(body, &d) && d.IsObject()) {
    auto str = [](const rapidjson::Value& v, const char* k) -> std::optional<std::string> {
      if (!v.IsObject()) return std::nullopt;
      auto it = v.FindMember(k);
      if (it == v.MemberEnd() || !it->value.IsString()) return std::nullopt;
      return std::string(it->value.GetString(), it->value.GetStringLength());
    };
    if (auto it = d.FindMember("errors");
        it != d.MemberEnd() && it->value.IsArray() && !it->value.Empty()) {
      const auto& e = it->value[0];
      if (auto s = str(e, "detail")) return *s;  // service API
      if (e.IsObject() && e.HasMember("detail") && e["detail"].IsArray()) {
        std::string all;
        for (const auto& p : e["detail"].GetArray()) {
          if (p.IsString()) all += (all.empty() ? "" : "; ") + std::string(p.GetString());
        }
        return all;
      }
      if (auto s = str(e, "message")) return *s;  // legacy
    }
    if (auto s = str(d, "message")) return *s;  // Zenlayer, Feldera
  }
  return std::string(util::Trim(body.substr(0, 500)));
}

std::optional<Goal> GoalOf(std::string_view verb) {
  using domain::InstanceStatus;
  if (verb == "create") return Goal{InstanceStatus::kStarted, true};
  if (verb == "start") return Goal{InstanceStatus::kStarted, false};
  if (verb == "stop") return Goal{InstanceStatus::kStopped, false};
  if (verb == "destroy") return Goal{InstanceStatus::kDestroyed, false};
  return std::nullopt;
}

std::optional<Goal> GoalOfCancel(domain::InstanceStatus s) {
  using domain::InstanceStatus;
  switch (s) {
    case InstanceStatus::kDestroying:
    case InstanceStatus::kDestroyed:
      return Goal{InstanceStatus::kDestroyed, false};
    case InstanceStatus::kStopping:
    case InstanceStatus::kStopped:
      return Goal{InstanceStatus::kStopped, false};
    case InstanceStatus::kStarting:
    case InstanceStatus::kStarted:
      return Goal{InstanceStatus::kStarted, false};
    default:
      return std::nullopt;
  }
}

bool IsFailure(const Goal& g, domain::InstanceStatus s) {
  return s == domain::InstanceStatus::kFailed || (g.create && domain::IsBuildFailure(s));
}

const std::vector<domain::InstanceStatus>& CreateSteps() {
  using domain::InstanceStatus;
  static const std::vector<InstanceStatus> kSteps{
      InstanceStatus::kPending,         InstanceStatus::kClusterCreated,
      InstanceStatus::kInitDone,        InstanceStatus::kCommonsInstalled,
      InstanceStatus::kHadoopInstalled, InstanceStatus::kKafkaInstalled,
      InstanceStatus::kFlinkInstalled,  InstanceStatus::kStarted};
  return kSteps;
}

std::string ProgressLine(const Goal& g, domain::InstanceStatus s, double seconds) {
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%.1f s", seconds);
  std::string name(domain::Info(s).name);
  if (!g.create) return name + "  " + elapsed;
  const auto& steps = CreateSteps();
  size_t at = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i] == s) at = i + 1;
  }
  std::string bar = "[";
  for (size_t i = 0; i < steps.size(); ++i) bar += i < at ? '#' : '-';
  bar += "] ";
  if (at == 0) return bar + "   " + name + "  " + elapsed;  // a failure: no position
  return bar + std::to_string(at) + "/" + std::to_string(steps.size()) + " " + name + "  " +
         elapsed;
}

std::vector<SseParser::Event> SseParser::Feed(std::string_view bytes) {
  buf_.append(bytes);
  std::vector<Event> out;
  size_t end;
  while ((end = buf_.find("\n\n")) != std::string::npos) {
    std::string block = buf_.substr(0, end);
    buf_.erase(0, end + 2);
    Event e;
    bool any = false;
    size_t pos = 0;
    while (pos < block.size()) {
      size_t nl = block.find('\n', pos);
      std::string line = block.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      pos = nl == std::string::npos ? block.size() : nl + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == ':') continue;
      auto colon = line.find(':');
      std::string field = line.substr(0, colon);
      std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      if (field == "id") {
        e.id = value;
      } else if (field == "event") {
        e.event = value;
      } else if (field == "data") {
        e.data += (e.data.empty() ? "" : "\n") + value;
      } else {
        continue;
      }
      any = true;
    }
    if (any) out.push_back(std::move(e));
  }
  return out;
}

std::string CreateBodyFromFlags(const std::map<std::string, std::string>& flags,
                                std::string* error) {
  auto get = [&flags](const std::string& k, const std::string& fallback) {
    auto it = flags.find(k);
    return it == flags.end() ? fallback : it->second;
  };
  std::string name = get("name", "");
  if (name.empty()) {
    *error = "create needs --name NAME (or -f spec.json)";
    return {};
  }
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::KV(w, "instance_name", name);
  json::KV(w, "master_name", get("master-name", name + "-master"));
  struct IntField {
    const char* flag;
    const char* field;
    const char* fallback;
  };
  for (const IntField& f : {IntField{"slaves", "slaves", "2"},
                            {"vcpus-master", "vcpus_master", "2"},
                            {"vcpus-slave", "vcpus_slave", "1"},
                            {"ram-master", "ram_master", "2048"},
                            {"ram-slave", "ram_slave", "1024"},
                            {"disk-master", "disk_master", "10"},
                            {"disk-slave", "disk_slave", "10"},
                            {"network-request", "network_request", "1"}}) {
    auto v = util::ParseInt(get(f.flag, f.fallback));
    if (!v) {
      *error = std::string("--") + f.flag + " must be an integer";
      return {};
    }
    json::KV(w, f.field, *v);
  }
  json::KV(w, "ip_allocation", get("ip-allocation", "master"));
  json::KV(w, "project_name", get("project", "lambda"));
  if (auto k = get("public-key-name", ""); !k.empty()) json::KV(w, "public_key_name", k);
  w.EndObject();
  return {sb.GetString(), sb.GetSize()};
}

bool ValidTenant(std::string_view t) {
  if (t.empty() || t.size() > 64) return false;
  for (char c : t) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  }
  return true;
}

namespace {

struct Flag {
  const char* flag;
  std::string_view field;
};
constexpr Flag kFlags[] = {{"--max-instances", domain::kLimitMaxInstances},
                           {"--max-inflight", domain::kLimitMaxInflight},
                           {"--rate", domain::kLimitRate},
                           {"--burst", domain::kLimitBurst},
                           {"--max-watchers", domain::kLimitMaxWatchers}};

}  // namespace

std::pair<std::vector<std::pair<std::string, std::string>>, std::string> LimitFlags(
    const std::vector<std::string>& all) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < all.size(); ++i) {
    const std::string& a = all[i];
    if (a.rfind("--", 0) != 0 || a == "--redis-url" || a == "--redis-prefix") {
      if (a == "--redis-url" || a == "--redis-prefix") ++i;
      continue;
    }
    std::string name = a, value;
    bool inline_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      inline_value = true;
      if (name == "--redis-url" || name == "--redis-prefix") continue;
    }
    const Flag* flag = nullptr;
    for (const auto& f : kFlags) {
      if (name == f.flag) flag = &f;
    }
    if (flag == nullptr) return {{}, "unknown flag " + name};
    if (!inline_value) {
      if (i + 1 >= all.size()) return {{}, name + " needs a value"};
      value = all[++i];
    }
    if (value != "default") {
      if (auto bad = domain::CheckLimit(flag->field, value)) return {{}, *bad};
    }
    out.emplace_back(std::string(flag->field), value);
  }
  return {out, {}};
}

}  // namespace lambda::ctl

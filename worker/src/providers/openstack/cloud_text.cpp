#include "providers/openstack/cloud_text.h"

#include <cctype>

namespace lambda::worker::openstack {

std::string Get(const rapidjson::Value& v, const char* k) {
  if (!v.IsObject()) return "";
  auto it = v.FindMember(k);
  if (it == v.MemberEnd() || !it->value.IsString()) return "";
  return {it->value.GetString(), it->value.GetStringLength()};
}

std::string ErrorText(const HttpReply& r) {
  rapidjson::Document d;
  if (json::Parse(r.body, &d, "cloud answer") && d.IsObject()) {
    for (auto& m : d.GetObject()) {
      std::string msg = Get(m.value, "message");
      if (!msg.empty()) return msg;
    }
    std::string msg = Get(d, "message");
    if (!msg.empty()) return msg;
  }
  return r.body.substr(0, 200);
}

bool LooksLikeUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : std::isxdigit(static_cast<unsigned char>(s[i])) == 0) return false;
  }
  return true;
}

std::string UrlEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace lambda::worker::openstack

// SPEC §4.5: tags and selectors, validated here once for every route that takes them.
#include "lambda/domain/tags.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace lambda::domain {
namespace {

Error Invalid(std::string message) { return Error{Code::kInvalidArgument, std::move(message)}; }

std::string_view AsView(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

}  // namespace

std::optional<std::string> TagKeyProblem(std::string_view key) {
  if (key.empty() || key.size() > kMaxTagKey) {
    return "a tag key must have 1.." + std::to_string(kMaxTagKey) + " characters";
  }
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return std::string("a tag key may only hold a-z, 0-9, '_', '.' and '-'");
  }
  return std::nullopt;
}

std::optional<std::string> TagValueProblem(std::string_view value) {
  size_t chars = 0;
  for (size_t i = 0; i < value.size();) {
    const auto b = static_cast<unsigned char>(value[i]);
    uint32_t cp = b;
    size_t len = 1;
    if (b >= 0xF0) {
      len = 4;
      cp = b & 0x07;
    } else if (b >= 0xE0) {
      len = 3;
      cp = b & 0x0F;
    } else if (b >= 0xC0) {
      len = 2;
      cp = b & 0x1F;
    } else if (b >= 0x80) {
      return std::string("a tag value must be valid UTF-8");
    }
    if (i + len > value.size()) return std::string("a tag value must be valid UTF-8");
    for (size_t k = 1; k < len; ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(value[i + k]) & 0x3F);
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
      return std::string("a tag value must hold printable characters only");
    }
    i += len;
    ++chars;
  }
  if (chars > kMaxTagValue) {
    return "a tag value must have at most " + std::to_string(kMaxTagValue) + " characters";
  }
  return std::nullopt;
}

Result<Tags> ParseTags(const rapidjson::Value& v, std::string_view field) {
  const std::string f(field);
  if (!v.IsObject()) return Invalid(f + ": must be an object of tag keys to string values");
  if (v.MemberCount() > kMaxTags) {
    return Invalid(f + ": at most " + std::to_string(kMaxTags) + " tags");
  }
  Tags out;
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    const std::string key(AsView(it->name));
    // The key is named in the message only once it is known to be printable and short.
    std::string named = f;
    if (auto p = TagKeyProblem(key)) {
      if (key.size() <= kMaxTagKey && !TagValueProblem(key)) named.append(".").append(key);
      return Invalid(named.append(": ").append(*p));
    }
    named.append(".").append(key).append(": ");
    if (!it->value.IsString()) return Invalid(named.append("a tag value must be a string"));
    if (auto p = TagValueProblem(AsView(it->value))) return Invalid(named.append(*p));
    if (!out.emplace(key, std::string(AsView(it->value))).second) {
      return Invalid(named.append("a tag key may appear once"));
    }
  }
  return out;
}

std::string TagsJson(const Tags& tags) {
  if (tags.empty()) return {};
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  for (const auto& [k, v] : tags) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  }
  w.EndObject();
  return {sb.GetString(), sb.GetSize()};
}

Tags TagsFromJson(std::string_view text) {
  Tags out;
  if (text.empty()) return out;
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) return out;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    if (it->value.IsString()) out.emplace(AsView(it->name), AsView(it->value));
  }
  return out;
}

bool Selector::Matches(const Tags& have, InstanceStatus status) const {
  for (const auto& [k, v] : tags) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  if (statuses.empty()) return true;
  for (auto s : statuses) {
    if (s == status) return true;
  }
  return false;
}

bool Selector::MayMatchDestroyed() const {
  if (statuses.empty()) return true;
  for (auto s : statuses) {
    if (s == InstanceStatus::kDestroyed) return true;
  }
  return false;
}

namespace {

Status AddStatus(Selector& sel, std::string_view name, std::string_view field) {
  auto s = FromName(name);
  if (!s) return Invalid(std::string(field) + ": unknown status '" + std::string(name) + "'");
  for (auto have : sel.statuses) {
    if (have == *s) return OkStatus();
  }
  sel.statuses.push_back(*s);
  return OkStatus();
}

}  // namespace

Result<Selector> ParseSelector(const rapidjson::Value& v) {
  if (!v.IsObject()) return Invalid("selector: must be an object with tags and/or status");
  Selector sel;
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    const std::string_view name = AsView(it->name);
    if (name == "tags") {
      auto tags = ParseTags(it->value, "selector.tags");
      if (!tags) return tags.error();
      sel.tags = std::move(*tags);
    } else if (name == "status") {
      if (!it->value.IsArray()) return Invalid("selector.status: must be an array of status names");
      for (const auto& s : it->value.GetArray()) {
        if (!s.IsString()) return Invalid("selector.status: must be an array of status names");
        if (auto st = AddStatus(sel, AsView(s), "selector.status"); !st) return st.error();
      }
    } else {
      return Invalid("selector." + std::string(name) + ": unknown member (tags, status)");
    }
  }
  return sel;
}

Result<Selector> SelectorFromQuery(const std::vector<std::string>& tag_params,
                                   const std::optional<std::string>& status_param) {
  Selector sel;
  if (tag_params.size() > kMaxTags) {
    return Invalid("tag: at most " + std::to_string(kMaxTags) + " tag filters");
  }
  for (const auto& p : tag_params) {
    auto colon = p.find(':');
    if (colon == std::string::npos) return Invalid("tag: must be key:value");
    std::string key = p.substr(0, colon), value = p.substr(colon + 1);
    if (auto problem = TagKeyProblem(key)) return Invalid("tag: " + *problem);
    if (auto problem = TagValueProblem(value)) return Invalid("tag." + key + ": " + *problem);
    auto [it, fresh] = sel.tags.emplace(key, value);
    // Two different values for one key can never both hold: a contradiction, not a filter.
    if (!fresh && it->second != value) {
      return Invalid("tag." + key + ": given twice with different values");
    }
  }
  if (status_param) {
    std::string_view rest = *status_param;
    while (true) {
      auto comma = rest.find(',');
      if (auto st = AddStatus(sel, rest.substr(0, comma), "status"); !st) return st.error();
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
  }
  return sel;
}

}  // namespace lambda::domain

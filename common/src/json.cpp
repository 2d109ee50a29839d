#include "lambda/json/json.h"

#include <rapidjson/error/en.h>

#include <cmath>
#include <optional>
#include <stdexcept>

namespace lambda::schemas {
extern const std::string_view k_create_request;
extern const std::string_view k_command;
extern const std::string_view k_openapi;
}  // namespace lambda::schemas

namespace lambda::json {
namespace {

std::string FieldName(const rapidjson::Pointer& pointer) {
  rapidjson::StringBuffer sb;
  pointer.StringifyUriFragment(sb);
  std::string s(sb.GetString(), sb.GetSize());
  // "#/simulate/fail_at" -> "simulate.fail_at"; the root is named "body".
  if (!s.empty() && s[0] == '#') s.erase(0, 1);
  if (!s.empty() && s[0] == '/') s.erase(0, 1);
  for (auto& c : s) {
    if (c == '/') c = '.';
  }
  return s.empty() ? "body" : s;
}

std::string NumberText(const rapidjson::Value& v) {
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsNumber()) return std::to_string(v.GetDouble());
  return "?";
}

std::string Describe(std::string_view keyword, const rapidjson::Value& schema_node) {
  auto get = [&](const char* k) -> const rapidjson::Value* {
    auto it = schema_node.FindMember(k);
    return it == schema_node.MemberEnd() ? nullptr : &it->value;
  };
  if (keyword == "type") {
    const auto* t = get("type");
    return std::string("must be of type ") + (t && t->IsString() ? t->GetString() : "?");
  }
  if (keyword == "minimum") return "must be >= " + NumberText(*get("minimum"));
  if (keyword == "maximum") return "must be <= " + NumberText(*get("maximum"));
  if (keyword == "minLength")
    return "must be at least " + NumberText(*get("minLength")) + " characters long";
  if (keyword == "maxLength")
    return "must be at most " + NumberText(*get("maxLength")) + " characters long";
  if (keyword == "enum") {
    std::string s = "must be one of";
    const auto* e = get("enum");
    if (e && e->IsArray()) {
      for (const auto& v : e->GetArray()) {
        s += ' ';
        s += v.IsString() ? v.GetString() : NumberText(v);
      }
    }
    return s;
  }
  if (keyword == "pattern") return "has an invalid format";
  if (keyword == "required") return "missing required field";
  if (keyword == "additionalProperties") return "unknown field";
  return std::string("violates ") + std::string(keyword);
}

const rapidjson::Value* Member(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(key);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

// RapidJSON 1.1 reports the first violation only: keyword, schema node and document node.
void Explain(std::string_view keyword, const rapidjson::Value& schema_node,
             const std::string& field, const rapidjson::Value* doc_node,
             std::vector<std::string>* out) {
  std::string prefix = field == "body" ? "" : field + ".";
  if (keyword == "required" && doc_node != nullptr && doc_node->IsObject()) {
    if (const auto* req = Member(schema_node, "required"); req && req->IsArray()) {
      for (const auto& name : req->GetArray()) {
        if (!doc_node->HasMember(name.GetString())) {
          out->push_back(prefix + name.GetString() + ": missing required field");
        }
      }
      if (!out->empty()) return;
    }
  }
  if (keyword == "additionalProperties" && doc_node != nullptr && doc_node->IsObject()) {
    const auto* props = Member(schema_node, "properties");
    for (const auto& m : doc_node->GetObject()) {
      if (props == nullptr || !props->HasMember(m.name.GetString())) {
        out->push_back(prefix + m.name.GetString() + ": unknown field");
      }
    }
    if (!out->empty()) return;
  }
  out->push_back(field + ": " + Describe(keyword, schema_node));
}

}  // namespace

std::optional<size_t> TooDeepAt(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::nullopt;
}

namespace {

// RapidJSON 1.1 turns some overlong numbers (e.g. 544444400420364e0300) into an infinity without
// an error, and its writer then stops half-way. Depth is bounded by kMaxDepth, so the recursion is.
bool AllFinite(const rapidjson::Value& v) {
  if (v.IsDouble()) return std::isfinite(v.GetDouble());
  if (v.IsArray()) {
    for (const auto& e : v.GetArray()) {
      if (!AllFinite(e)) return false;
    }
  } else if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      if (!AllFinite(m.value)) return false;
    }
  }
  return true;
}

}  // namespace

std::optional<size_t> LoneLowSurrogateAt(std::string_view text) {
  // RapidJSON 1.1 rejects a high surrogate escape without its low half, but decodes a lone low
  // one (\uDC00-\uDFFF) into bytes that are not UTF-8; kParseValidateEncodingFlag checks raw
  // bytes only. Outside strings a backslash is a syntax error anyway.
  bool after_high = false;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] != '\\') continue;
    if (text[i + 1] != 'u') {
      after_high = false;
      ++i;  // the escaped character
      continue;
    }
    if (i + 5 >= text.size()) return std::nullopt;  // truncated: a syntax error for RapidJSON
    unsigned unit = 0;
    bool hex = true;
    for (size_t k = i + 2; k < i + 6; ++k) {
      char h = text[k];
      unit <<= 4;
      if (h >= '0' && h <= '9') {
        unit |= static_cast<unsigned>(h - '0');
      } else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f') {
        unit |= static_cast<unsigned>((h | 0x20) - 'a' + 10);
      } else {
        hex = false;
      }
    }
    if (!hex) return std::nullopt;  // RapidJSON reports the bad escape itself
    bool high = unit >= 0xD800 && unit <= 0xDBFF, low = unit >= 0xDC00 && unit <= 0xDFFF;
    if (low && !after_high) return i;
    // A high half counts only when the next escape follows it at once.
    after_high = high && i + 6 < text.size() && text[i + 6] == '\\';
    i += 5;
  }
  return std::nullopt;
}

Status Parse(std::string_view text, rapidjson::Document* doc, std::string_view what) {
  // Depth first, without recursion: RapidJSON's default parser, its writer and its schema
  // validator all recurse per level, so a deep document must never reach them.
  if (auto at = TooDeepAt(text, kMaxDepth)) {
    return Error{Code::kInvalidArgument, std::string(what) + ": JSON nested deeper than " +
                                             std::to_string(kMaxDepth) + " levels at offset " +
                                             std::to_string(*at)};
  }
  if (auto at = LoneLowSurrogateAt(text)) {
    return Error{Code::kInvalidArgument, std::string(what) + ": invalid JSON at offset " +
                                             std::to_string(*at) +
                                             ": invalid UTF-8 in a string (a lone \\u surrogate)"};
  }
  doc->Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(text.data(),
                                                                                     text.size());
  if (doc->HasParseError()) {
    std::string reason = doc->GetParseError() == rapidjson::kParseErrorStringInvalidEncoding
                             ? "invalid UTF-8 in a string"
                             : rapidjson::GetParseError_En(doc->GetParseError());
    return Error{Code::kInvalidArgument, std::string(what) + ": invalid JSON at offset " +
                                             std::to_string(doc->GetErrorOffset()) + ": " + reason};
  }
  if (!AllFinite(*doc)) {
    doc->SetNull();
    return Error{Code::kInvalidArgument, std::string(what) + ": a number is out of range"};
  }
  return OkStatus();
}

Status ParseStored(std::string_view text, rapidjson::Document* doc, std::string_view what) {
  doc->Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (doc->HasParseError()) {
    return Error{Code::kInvalidArgument, std::string(what) + ": invalid JSON at offset " +
                                             std::to_string(doc->GetErrorOffset()) + ": " +
                                             rapidjson::GetParseError_En(doc->GetParseError())};
  }
  return OkStatus();
}

Schema::Schema(std::string_view schema_text) {
  schema_doc_.Parse(schema_text.data(), schema_text.size());
  if (schema_doc_.HasParseError()) throw std::runtime_error("invalid embedded JSON schema");
  schema_ = std::make_unique<rapidjson::SchemaDocument>(schema_doc_);
}

std::vector<std::string> Schema::Validate(const rapidjson::Value& doc) const {
  rapidjson::SchemaValidator validator(*schema_);
  if (doc.Accept(validator)) return {};
  std::vector<std::string> out;
  const rapidjson::Value* schema_node = validator.GetInvalidSchemaPointer().Get(schema_doc_);
  const rapidjson::Value* doc_node = validator.GetInvalidDocumentPointer().Get(doc);
  Explain(validator.GetInvalidSchemaKeyword(), schema_node ? *schema_node : schema_doc_,
          FieldName(validator.GetInvalidDocumentPointer()), doc_node, &out);
  if (out.empty()) out.emplace_back("body: does not match the schema");
  return out;
}

std::string_view CreateRequestSchemaText() { return schemas::k_create_request; }
std::string_view CommandSchemaText() { return schemas::k_command; }
std::string_view OpenApiText() { return schemas::k_openapi; }

}  // namespace lambda::json

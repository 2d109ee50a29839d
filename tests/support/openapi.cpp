#include "openapi.h"

#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace lambda::testing {

struct OpenApi::Impl {
  YAML::Node root;

  YAML::Node Resolve(YAML::Node n) const {
    for (int depth = 0; n.IsMap() && n["$ref"] && depth < 16; ++depth) {
      std::string ref = n["$ref"].as<std::string>();
      if (ref.rfind("#/", 0) != 0) throw std::runtime_error("external $ref " + ref);
      YAML::Node at = YAML::Clone(root);
      size_t pos = 2;
      while (pos <= ref.size()) {
        size_t slash = ref.find('/', pos);
        std::string part =
            ref.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
        at = at[part];
        if (!at) throw std::runtime_error("dangling $ref " + ref);
        if (slash == std::string::npos) break;
        pos = slash + 1;
      }
      n = at;
    }
    return n;
  }

  /// YAML → JSON Schema: $refs inlined, `nullable` as anyOf null, documentation keys dropped.
  /// `names`: `in` is a `properties` map, whose keys are the body's field names (a field may be
  /// called `description`), each mapped to a schema.
  void ToJson(const YAML::Node& in, rapidjson::Value& out, rapidjson::Document::AllocatorType& a,
              int depth = 0, bool names = false) const {
    if (depth > 64) throw std::runtime_error("schema nested too deep (a $ref cycle?)");
    YAML::Node n = Resolve(in);
    if (n.IsMap()) {
      out.SetObject();
      bool nullable = false;
      for (const auto& kv : n) {
        std::string k = kv.first.as<std::string>();
        if (!names) {
          if (k == "example" || k == "description" || k == "format") continue;
          if (k == "nullable") {
            nullable = kv.second.as<bool>();
            continue;
          }
        }
        rapidjson::Value v;
        ToJson(kv.second, v, a, depth + 1, !names && k == "properties");
        out.AddMember(rapidjson::Value(k.c_str(), a), v, a);
      }
      if (nullable) {
        rapidjson::Value any(rapidjson::kArrayType), null_type(rapidjson::kObjectType);
        null_type.AddMember("type", "null", a);
        rapidjson::Value inner(out, a);
        any.PushBack(inner, a).PushBack(null_type, a);
        out.SetObject();
        out.AddMember("anyOf", any, a);
      }
    } else if (n.IsSequence()) {
      out.SetArray();
      for (const auto& item : n) {
        rapidjson::Value v;
        ToJson(item, v, a, depth + 1);
        out.PushBack(v, a);
      }
    } else if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      // A plain (unquoted) scalar may be a number or a boolean; a quoted one is a string.
      if (n.Tag() == "?") {
        char* end = nullptr;
        long long i = std::strtoll(s.c_str(), &end, 10);
        if (!s.empty() && *end == '\0') {
          out.SetInt64(i);
          return;
        }
        double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && *end == '\0') {
          out.SetDouble(d);
          return;
        }
        if (s == "true" || s == "false") {
          out.SetBool(s == "true");
          return;
        }
      }
      out.SetString(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), a);
    } else {
      out.SetNull();
    }
  }

  YAML::Node Operation(const std::string& method, const std::string& path) const {
    YAML::Node p = root["paths"][path];
    if (!p) return {};
    std::string m;
    for (char c : method) m += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return p[m];
  }

  std::optional<rapidjson::Document> SchemaOf(YAML::Node holder) const {
    holder = Resolve(holder);
    if (!holder || !holder["content"] || !holder["content"]["application/json"] ||
        !holder["content"]["application/json"]["schema"]) {
      return std::nullopt;
    }
    rapidjson::Document d;
    ToJson(holder["content"]["application/json"]["schema"], d, d.GetAllocator());
    return d;
  }
};

OpenApi::OpenApi(const std::string& path) : impl_(std::make_shared<Impl>()) {
  impl_->root = YAML::LoadFile(path);
}

bool OpenApi::Documents(const std::string& method, const std::string& path, int status) const {
  YAML::Node op = impl_->Operation(method, path);
  return op && op["responses"] && op["responses"][std::to_string(status)];
}

std::optional<rapidjson::Document> OpenApi::ResponseSchema(const std::string& method,
                                                           const std::string& path,
                                                           int status) const {
  if (!Documents(method, path, status)) return std::nullopt;
  return impl_->SchemaOf(impl_->Operation(method, path)["responses"][std::to_string(status)]);
}

std::optional<rapidjson::Document> OpenApi::RequestSchema(const std::string& method,
                                                          const std::string& path) const {
  YAML::Node op = impl_->Operation(method, path);
  if (!op || !op["requestBody"]) return std::nullopt;
  return impl_->SchemaOf(op["requestBody"]);
}

std::vector<std::string> OpenApi::CheckResponse(const std::string& method, const std::string& path,
                                                int status, const std::string& body) const {
  if (!Documents(method, path, status)) {
    return {method + " " + path + ": status " + std::to_string(status) + " is not documented"};
  }
  auto schema = ResponseSchema(method, path, status);
  if (!schema) {
    return {method + " " + path + " " + std::to_string(status) + ": documented without a schema"};
  }
  return Validate(*schema, body);
}

std::vector<std::string> Validate(const rapidjson::Document& schema, const std::string& body) {
  rapidjson::Document doc;
  if (doc.Parse(body.c_str(), body.size()).HasParseError()) return {"not JSON: " + body};
  rapidjson::SchemaDocument sd(schema);
  rapidjson::SchemaValidator v(sd);
  if (doc.Accept(v)) return {};
  rapidjson::StringBuffer where, why;
  v.GetInvalidSchemaPointer().StringifyUriFragment(where);
  v.GetInvalidDocumentPointer().StringifyUriFragment(why);
  return {std::string("schema ") + where.GetString() + " (" + v.GetInvalidSchemaKeyword() +
          ") rejects the answer at " + why.GetString() + ": " + body.substr(0, 300)};
}

}  // namespace lambda::testing

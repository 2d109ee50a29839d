#pragma once
/// JSON helpers over RapidJSON: a string writer and schema validation with field-level messages.
#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lambda/result.h"

namespace lambda::json {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

inline void Key(Writer& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}
inline void Str(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
inline void KV(Writer& w, std::string_view k, std::string_view v) {
  Key(w, k);
  Str(w, v);
}
inline void KV(Writer& w, std::string_view k, const char* v) {
  Key(w, k);
  Str(w, v);
}
inline void KV(Writer& w, std::string_view k, int64_t v) {
  Key(w, k);
  w.Int64(v);
}
inline void KV(Writer& w, std::string_view k, int v) {
  Key(w, k);
  w.Int(v);
}
inline std::string_view View(const rapidjson::StringBuffer& b) {
  return {b.GetString(), b.GetSize()};
}

/// Parses `text`; a syntax error is an kInvalidArgument with offset and reason.
Status Parse(std::string_view text, rapidjson::Document* doc);

/// A compiled JSON Schema (draft-04, as RapidJSON supports). Thread: immutable after construction.
class Schema {
 public:
  /// Throws std::runtime_error on an unparsable schema (startup only).
  explicit Schema(std::string_view schema_text);
  /// Empty when valid; else "field: problem" messages.
  std::vector<std::string> Validate(const rapidjson::Value& doc) const;

 private:
  std::unique_ptr<rapidjson::SchemaDocument> schema_;
  rapidjson::Document schema_doc_;
};

/// Embedded contract files (schemas/ at build time).
std::string_view CreateRequestSchemaText();
std::string_view CommandSchemaText();
std::string_view OpenApiText();

}  // namespace lambda::json

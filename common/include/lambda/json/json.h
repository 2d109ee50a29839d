#pragma once
/// JSON helpers over RapidJSON: a string writer and schema validation with field-level messages.
#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lambda/result.h"
#include "lambda/util/util.h"

namespace lambda::json {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

inline void Key(Writer& w, std::string_view k) {
  if (util::IsValidUtf8(k)) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
  } else {
    std::string fixed = util::ToValidUtf8(k);
    w.Key(fixed.data(), static_cast<rapidjson::SizeType>(fixed.size()));
  }
}
/// Writes `s` as a JSON string; invalid UTF-8 (a record stored before input was validated, a
/// provider's message) becomes U+FFFD, so the output is valid JSON whatever is stored.
inline void Str(Writer& w, std::string_view s) {
  if (util::IsValidUtf8(s)) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  } else {
    std::string fixed = util::ToValidUtf8(s);
    w.String(fixed.data(), static_cast<rapidjson::SizeType>(fixed.size()));
  }
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

namespace detail {
/// The first pool block of a Document, inside the object (a base, so it is built first).
struct DocumentPool {
  DocumentPool() : pool(buffer, sizeof buffer, kChunkBytes) {}
  // Each further block, if the text needs more.
  static constexpr size_t kChunkBytes = size_t{16} * 1024;
  alignas(alignof(std::max_align_t)) char buffer[4096];
  rapidjson::MemoryPoolAllocator<> pool;
};
}  // namespace detail

/// A rapidjson::Document whose first 4 KiB of values and strings live in the object itself.
/// A default Document's pool mallocs a 64 KiB block on the first value of every parse, however
/// small the text; a command, a stored spec or a request body fits in this one (callgrind: a
/// worker's command ran 9 % fewer instructions). Neither copied nor moved: the pool is inside.
class Document : private detail::DocumentPool, public rapidjson::Document {
 public:
  Document() : rapidjson::Document(&pool) {}
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;
};

/// The deepest nesting any JSON document we read may have (arrays and objects).
inline constexpr int kMaxDepth = 32;

/// Parses `text` as every JSON input must be parsed: at most kMaxDepth levels (checked without
/// recursion before RapidJSON sees it), valid UTF-8 in every string. An error is kInvalidArgument
/// "<what>: ..." naming the offset and the problem.
Status Parse(std::string_view text, rapidjson::Document* doc, std::string_view what = "body");
/// Parses JSON this system wrote itself from input Parse had accepted (a stored spec, stored
/// servers), without Parse's input checks (depth, UTF-8, lone surrogates), which measured as
/// most of a job's parsing cost. Still iterative, so no depth can recurse. Never for anything a
/// client, the broker or another producer hands us.
Status ParseStored(std::string_view text, rapidjson::Document* doc, std::string_view what);
/// The offset of the first bracket that opens level max_depth+1, if any (strings skipped).
std::optional<size_t> TooDeepAt(std::string_view text, int max_depth);
/// The offset of a \uDC00-\uDFFF escape that does not follow a high surrogate escape, if any.
std::optional<size_t> LoneLowSurrogateAt(std::string_view text);

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

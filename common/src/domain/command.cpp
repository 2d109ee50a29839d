#include "lambda/domain/command.h"

#include "lambda/json/json.h"
#include "lambda/util/util.h"

namespace lambda::domain {

std::string ToJson(const Command& c) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::KV(w, "v", c.v);
  json::KV(w, "request_id", c.request_id);
  json::KV(w, "instance_id", c.instance_id);
  json::KV(w, "action", ActionName(c.action));
  json::KV(w, "gen", c.gen);
  json::KV(w, "issued_at", c.issued_at);
  json::KV(w, "attempt", c.attempt);
  if (c.op_attempt > 1) json::KV(w, "op_attempt", c.op_attempt);
  w.EndObject();
  return {sb.GetString(), sb.GetSize()};
}

namespace {

constexpr int64_t kMaxSafeInteger = 9007199254740991;  // 2^53 - 1, as the schema bounds them

bool IsUuidV4(std::string_view s) {
  // The schema's pattern: lowercase hex, version 4, variant 8..b.
  return util::IsUuid(s) && s[14] == '4' &&
         (s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b');
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

Error Invalid(std::string_view where, std::string_view problem) {
  return Error{Code::kInvalidArgument, std::string(where) + std::string(problem)};
}

/// The integer a schema "integer" with these bounds accepts (RapidJSON's notion: a number
/// written without fraction or exponent that fits 64 bits).
Result<int64_t> BoundedInt(const rapidjson::Value& v, const std::string& where, int64_t lo,
                           int64_t hi) {
  if (!v.IsInt64()) {
    if (v.IsUint64()) return Invalid(where, ": out of range");
    return Invalid(where, ": must be an integer");
  }
  int64_t x = v.GetInt64();
  if (x < lo || x > hi) return Invalid(where, ": out of range");
  return x;
}

/// One command object, checked field by field as schemas/command.v1.schema.json says (that
/// schema is the oracle: tests/unit/command_parse_test.cpp holds the two to the same verdicts).
/// A typed walk instead of a schema validation per delivery: it is the worker's hot path.
Result<Command> CommandFrom(const rapidjson::Value& doc, const std::string& at) {
  if (!doc.IsObject()) return Invalid(at.empty() ? "command" : at, ": must be an object");
  Command c;
  enum : unsigned {
    kV = 1,
    kReq = 2,
    kInst = 4,
    kAction = 8,
    kGen = 16,
    kIssued = 32,
    kAttempt = 64
  };
  unsigned seen = 0;
  for (auto m = doc.MemberBegin(); m != doc.MemberEnd(); ++m) {
    std::string_view key(m->name.GetString(), m->name.GetStringLength());
    const rapidjson::Value& v = m->value;
    const std::string where = at.empty() ? std::string(key) : at + "." + std::string(key);
    if (key == "v") {
      // Name an unknown version plainly: it is the most likely mismatch across a rolling upgrade.
      if (!(v.IsInt() && v.GetInt() == 1)) return Invalid(where, ": unsupported command version");
      seen |= kV;
    } else if (key == "request_id" || key == "instance_id" || key == "action") {
      if (!v.IsString()) return Invalid(where, ": must be a string");
      // With its length: a JSON string may hold \u0000, which a C string would cut short.
      std::string_view sv(v.GetString(), v.GetStringLength());
      if (key == "request_id") {
        size_t n = CodePoints(sv);
        if (n < 1 || n > 128) return Invalid(where, ": must be 1..128 characters");
        if (!(seen & kReq)) c.request_id.assign(sv);
        seen |= kReq;
      } else if (key == "instance_id") {
        if (!IsUuidV4(sv)) return Invalid(where, ": must be a lowercase UUID v4");
        if (!(seen & kInst)) c.instance_id.assign(sv);
        seen |= kInst;
      } else {
        auto a = ParseAction(sv);
        if (!a)
          return Invalid(where, ": must be one of create, start, stop, destroy, pause, resume");
        if (!(seen & kAction)) c.action = *a;
        seen |= kAction;
      }
    } else if (key == "gen") {
      auto x = BoundedInt(v, where, 1, kMaxSafeInteger);
      if (!x) return x.error();
      if (!(seen & kGen)) c.gen = *x;
      seen |= kGen;
    } else if (key == "issued_at") {
      auto x = BoundedInt(v, where, 0, kMaxSafeInteger);
      if (!x) return x.error();
      if (!(seen & kIssued)) c.issued_at = *x;
      seen |= kIssued;
    } else if (key == "attempt" || key == "op_attempt") {
      auto x = BoundedInt(v, where, 1, 1000);
      if (!x) return x.error();
      if (key == "attempt") {
        if (!(seen & kAttempt)) c.attempt = static_cast<int>(*x);
        seen |= kAttempt;
      } else {
        c.op_attempt = static_cast<int>(*x);
      }
    } else {
      return Invalid(where, ": unknown field");
    }
  }
  static constexpr std::pair<unsigned, const char*> kRequired[] = {
      {kV, "v"},     {kReq, "request_id"},   {kInst, "instance_id"}, {kAction, "action"},
      {kGen, "gen"}, {kIssued, "issued_at"}, {kAttempt, "attempt"}};
  for (const auto& [bit, name] : kRequired) {
    if (!(seen & bit))
      return Invalid(at.empty() ? std::string(name) : at + "." + name, ": missing required field");
  }
  return c;
}

}  // namespace

Result<Command> ParseCommand(std::string_view body) {
  json::Document doc;
  if (auto st = json::Parse(body, &doc, "command"); !st) return st.error();
  return CommandFrom(doc, "");
}

Result<std::vector<Command>> ParseCommands(std::string_view body) {
  json::Document doc;
  if (auto st = json::Parse(body, &doc, "command"); !st) return st.error();
  std::vector<Command> out;
  if (!doc.IsArray()) {
    auto c = CommandFrom(doc, "");
    if (!c) return c.error();
    out.push_back(std::move(*c));
    return out;
  }
  if (doc.Empty() || doc.Size() > kMaxCommandsPerMessage) {
    return Invalid("commands", ": a batch holds 1.." + std::to_string(kMaxCommandsPerMessage));
  }
  out.reserve(doc.Size());
  for (rapidjson::SizeType i = 0; i < doc.Size(); ++i) {
    auto c = CommandFrom(doc[i], "[" + std::to_string(i) + "]");
    if (!c) return c.error();
    out.push_back(std::move(*c));
  }
  return out;
}

std::string ToJson(const std::vector<Command>& batch) {
  if (batch.size() == 1) return ToJson(batch.front());
  std::string out = "[";
  for (const auto& c : batch) {
    if (out.size() > 1) out += ',';
    out += ToJson(c);
  }
  out += ']';
  return out;
}

}  // namespace lambda::domain

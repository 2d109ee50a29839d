#include "lambda/domain/command.h"

#include "lambda/json/json.h"

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

Result<Command> ParseCommand(std::string_view body) {
  static const json::Schema kSchema(json::CommandSchemaText());
  rapidjson::Document doc;
  if (auto st = json::Parse(body, &doc, "command"); !st) return st.error();
  if (doc.IsObject()) {
    // Name an unknown version plainly: it is the most likely mismatch across a rolling upgrade.
    auto v = doc.FindMember("v");
    if (v != doc.MemberEnd() && !(v->value.IsInt() && v->value.GetInt() == 1)) {
      return Error{Code::kInvalidArgument, "v: unsupported command version"};
    }
  }
  auto problems = kSchema.Validate(doc);
  if (!problems.empty()) {
    std::string msg;
    for (const auto& p : problems) {
      if (!msg.empty()) msg += "; ";
      msg += p;
    }
    return Error{Code::kInvalidArgument, msg};
  }
  // The schema bounds every integer; these checks keep a schema slip from reaching RapidJSON's
  // typed getters, which assert (a worker crash) on a number of another width.
  for (const char* k : {"gen", "issued_at", "attempt"}) {
    if (!doc[k].IsInt64()) return Error{Code::kInvalidArgument, std::string(k) + ": out of range"};
  }
  if (auto m = doc.FindMember("op_attempt"); m != doc.MemberEnd() && !m->value.IsInt())
    return Error{Code::kInvalidArgument, "op_attempt: out of range"};
  Command c;
  c.v = doc["v"].GetInt();
  // With their lengths: a JSON string may hold \u0000, which a C string would cut short.
  c.request_id.assign(doc["request_id"].GetString(), doc["request_id"].GetStringLength());
  c.instance_id.assign(doc["instance_id"].GetString(), doc["instance_id"].GetStringLength());
  c.action = *ParseAction(doc["action"].GetString());
  c.gen = doc["gen"].GetInt64();
  c.issued_at = doc["issued_at"].GetInt64();
  c.attempt = doc["attempt"].GetInt();
  if (auto m = doc.FindMember("op_attempt"); m != doc.MemberEnd()) c.op_attempt = m->value.GetInt();
  return c;
}

}  // namespace lambda::domain

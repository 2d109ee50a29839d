#include "idempotency/idempotency.h"

#include <rapidjson/document.h>

#include "lambda/json/json.h"
#include "lambda/log/log.h"
#include "lambda/util/util.h"

namespace lambda::idempotency {

bool Applies(std::string_view method) { return method == "POST" || method == "DELETE"; }

Status ValidateKey(std::string_view key) {
  if (key.empty() || key.size() > 64) {
    return Error{Code::kInvalidArgument, "Idempotency-Key: 1 to 64 characters expected"};
  }
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) {
      return Error{Code::kInvalidArgument,
                   "Idempotency-Key: only visible ASCII characters (no spaces) are allowed"};
    }
  }
  return OkStatus();
}

std::string Fingerprint(const http::Request& req) {
  std::string material = req.method;
  material += ' ';
  material += req.path;
  material += '?';  // the query can carry the action (`?action=start`): part of the request
  material += req.query;
  material += '\n';
  if (const auto* a = req.Header("x-zc-action")) material += *a;
  material += '\n';
  material += req.body;
  return util::Sha256Hex(material);
}

std::string Encode(const Record& r) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::KV(w, "state", r.done ? "done" : "pending");
  json::KV(w, "fp", r.fingerprint);
  if (r.done) {
    json::KV(w, "status", r.status);
    json::KV(w, "type", r.content_type);
    json::KV(w, "body", r.body);
  }
  w.EndObject();
  return {sb.GetString(), sb.GetSize()};
}

std::optional<Record> Decode(std::string_view text) {
  json::Document d;
  if (!json::Parse(text, &d, "idempotency record") || !d.IsObject()) return std::nullopt;
  auto str = [&d](const char* k) -> std::optional<std::string> {
    auto it = d.FindMember(k);
    if (it == d.MemberEnd() || !it->value.IsString()) return std::nullopt;
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  auto state = str("state");
  auto fp = str("fp");
  if (!state || !fp) return std::nullopt;
  Record r;
  r.fingerprint = *fp;
  r.done = *state == "done";
  if (r.done) {
    auto it = d.FindMember("status");
    auto type = str("type");
    auto body = str("body");
    if (it == d.MemberEnd() || !it->value.IsInt() || !type || !body) return std::nullopt;
    r.status = it->value.GetInt();
    r.content_type = *type;
    r.body = *body;
  }
  return r;
}

bool Keeps(int status) { return status < 500 && status != 429; }

Begin Decide(const std::optional<Record>& held, std::string_view fingerprint) {
  if (!held) return Begin{Begin::Kind::kNew, {}};
  if (held->fingerprint != fingerprint) return Begin{Begin::Kind::kMismatch, {}};
  if (!held->done) return Begin{Begin::Kind::kInProgress, {}};
  return Begin{Begin::Kind::kReplay, *held};
}

std::string Store::KeyOf(const std::string& tenant, std::string_view key) const {
  return prefix_ + "idem:" + tenant + ":" + util::Sha256Hex(key);
}

void Store::Start(const std::string& tenant, std::string_view key, const std::string& fingerprint,
                  std::function<void(Result<Begin>)> done) {
  const std::string k = KeyOf(tenant, key);
  Record pending;
  pending.fingerprint = fingerprint;
  redis_->Command(
      {"SET", k, Encode(pending), "NX", "PX", std::to_string(kPendingMs)},
      [this, k, fingerprint, done = std::move(done)](const Result<redis::Value>& set) {
        if (!set || set->is_error()) {
          return done(Error{Code::kUnavailable, set ? set->str : set.error().message});
        }
        if (!set->is_nil()) return done(Decide(std::nullopt, fingerprint));  // claimed
        redis_->Command({"GET", k}, [fingerprint, done](const Result<redis::Value>& got) {
          if (!got || got->is_error()) {
            return done(Error{Code::kUnavailable, got ? got->str : got.error().message});
          }
          // Gone between the two commands (expired): a retry will claim it.
          if (got->is_nil()) return done(Begin{Begin::Kind::kInProgress, {}});
          auto held = Decode(got->str);
          if (!held) return done(Error{Code::kUnavailable, "unreadable idempotency record"});
          done(Decide(held, fingerprint));
        });
      });
}

void Store::Finish(const std::string& tenant, std::string_view key, const std::string& fingerprint,
                   const http::Response& answer) {
  const std::string k = KeyOf(tenant, key);
  auto logged = [k](const Result<redis::Value>& r) {
    if (!r || r->is_error()) {
      // The pending record expires on its own; a retry then acts again.
      log::Warn("idempotency record not written", {{"error", r ? r->str : r.error().message}});
    }
  };
  if (!Keeps(answer.status)) return redis_->Command({"DEL", k}, logged);
  Record r;
  r.done = true;
  r.fingerprint = fingerprint;
  r.status = answer.status;
  r.content_type = answer.content_type;
  r.body = answer.body;
  redis_->Command({"SET", k, Encode(r), "PX", std::to_string(kKeepMs)}, logged);
}

}  // namespace lambda::idempotency

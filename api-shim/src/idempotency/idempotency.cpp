#include "idempotency/idempotency.h"

#include <rapidjson/document.h>

#include "idempotency/compact.h"
#include "lambda/json/json.h"
#include "lambda/log/log.h"
#include "lambda/redis/keys.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
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

namespace {
const char* FormKey(Record::Form f) {
  switch (f) {
    case Record::Form::kCompact:
      return "compact";
    case Record::Form::kDigest:
      return "digest";
    case Record::Form::kBody:
      break;
  }
  return "body";
}
}  // namespace

std::string Encode(const Record& r) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::KV(w, "state", r.done ? "done" : "pending");
  json::KV(w, "fp", r.fingerprint);
  if (r.done) {
    json::KV(w, "status", r.status);
    json::KV(w, "type", r.content_type);
    json::KV(w, FormKey(r.form), r.body);
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
    std::optional<std::string> body;
    for (auto form : {Record::Form::kBody, Record::Form::kCompact, Record::Form::kDigest}) {
      if ((body = str(FormKey(form)))) {
        r.form = form;
        break;
      }
    }
    if (it == d.MemberEnd() || !it->value.IsInt() || !type || !body) return std::nullopt;
    r.status = it->value.GetInt();
    r.content_type = *type;
    r.body = *body;
  }
  return r;
}

bool Keeps(int status) { return status < 500 && status != 429; }

Record Kept(const std::string& fingerprint, std::string_view request_body,
            const http::Response& answer) {
  Record r{true, fingerprint, answer.status, answer.content_type, answer.body, Record::Form::kBody};
  if (answer.body.size() > kCompactFrom) {
    std::string compact = Compact(request_body, answer.body);
    // Kept compacted only when shorter and exact (the check costs one expansion per keep).
    if (compact.size() < answer.body.size() && Expand(request_body, compact) == answer.body) {
      r.body = std::move(compact);
      r.form = Record::Form::kCompact;
    }
  }
  if (Encode(r).size() > kMaxRecordBytes) {
    r.body = util::Sha256Hex(answer.body);
    r.form = Record::Form::kDigest;
  }
  return r;
}

std::optional<std::string> AnswerBody(const Record& r, std::string_view request_body) {
  switch (r.form) {
    case Record::Form::kBody:
      return r.body;
    case Record::Form::kCompact:
      return Expand(request_body, r.body);
    case Record::Form::kDigest:
      break;
  }
  return std::nullopt;
}

Begin Decide(const std::optional<Record>& held, std::string_view fingerprint) {
  if (!held) return Begin{Begin::Kind::kNew, {}};
  if (held->fingerprint != fingerprint) return Begin{Begin::Kind::kMismatch, {}};
  if (!held->done) return Begin{Begin::Kind::kInProgress, {}};
  if (held->form == Record::Form::kDigest) return Begin{Begin::Kind::kNotKept, *held};
  return Begin{Begin::Kind::kReplay, *held};
}

std::string Store::KeyOf(const std::string& tenant, std::string_view key) const {
  return redis::keys::IdempotencyRecord(prefix_, tenant, util::Sha256Hex(key));
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
                   std::string_view request_body, const http::Response& answer) {
  auto logged = [tenant](const Result<redis::Value>& r) {
    if (!r || r->is_error()) {
      // The pending record expires on its own; a retry then acts again.
      log::Warn("idempotency record not written",
                {{"tenant", tenant}, {"error", r ? r->str : r.error().message}});
    }
  };
  if (!Keeps(answer.status)) return redis_->Command({"DEL", KeyOf(tenant, key)}, logged);
  const redis::args::IdempotencyKeep keep{prefix_,
                                          tenant,
                                          util::Sha256Hex(key),
                                          Encode(Kept(fingerprint, request_body, answer)),
                                          kKeepMs,
                                          limits_.max_records,
                                          limits_.max_bytes,
                                          limits_.overhead_bytes};
  redis_->EvalSha(redis::scripts::IdempotencyKeep(), keep.Keys(), keep.Argv(), logged);
}

}  // namespace lambda::idempotency

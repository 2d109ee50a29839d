#include "audit/trail.h"

#include "lambda/json/json.h"
#include "lambda/redis/keys.h"
#include "lambda/util/util.h"
#include "watch/events.h"

namespace lambda::shim::audit {
namespace {

/// Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool Digits(std::string_view s, size_t at, size_t n, int64_t* out) {
  if (at + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::string_view DialectName(routes::Dialect d) {
  switch (d) {
    case routes::Dialect::kService:
      return "service";
    case routes::Dialect::kLegacy:
      return "legacy";
    case routes::Dialect::kZenlayer:
      return "zenlayer";
    case routes::Dialect::kFeldera:
      return "feldera";
    case routes::Dialect::kPublic:
      return "public";
  }
  return "service";
}

Result<int64_t> ParseRfc3339(std::string_view t) {
  const Error bad{Code::kInvalidArgument,
                  "since: an RFC 3339 date-time is expected, such as 2026-12-07T20:03:24Z"};
  int64_t y, mo, d, h, mi, s;
  if (t.size() < 20 || t.size() > 40 || !Digits(t, 0, 4, &y) || t[4] != '-' ||
      !Digits(t, 5, 2, &mo) || t[7] != '-' || !Digits(t, 8, 2, &d) ||
      (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !Digits(t, 11, 2, &h) || t[13] != ':' ||
      !Digits(t, 14, 2, &mi) || t[16] != ':' || !Digits(t, 17, 2, &s)) {
    return bad;
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || h > 23 || mi > 59 || s > 60) return bad;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap) return bad;
  size_t i = 19;
  int64_t ms = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    size_t digits = 0;
    for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i, ++digits) {
      if (digits < 3) ms = ms * 10 + (t[i] - '0');
    }
    if (digits == 0) return bad;
    for (size_t k = digits; k < 3; ++k) ms *= 10;
  }
  int64_t offset_min = 0;
  if (i < t.size() && (t[i] == 'Z' || t[i] == 'z') && i + 1 == t.size()) {
    // UTC
  } else if (i + 6 == t.size() && (t[i] == '+' || t[i] == '-') && t[i + 3] == ':') {
    int64_t oh, om;
    if (!Digits(t, i + 1, 2, &oh) || !Digits(t, i + 4, 2, &om) || oh > 23 || om > 59) return bad;
    offset_min = (t[i] == '+' ? 1 : -1) * (oh * 60 + om);
  } else {
    return bad;
  }
  const int64_t secs =
      DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + (s == 60 ? 59 : s) - offset_min * 60;
  return secs * 1000 + ms;
}

Result<Query> ParseQuery(const http::Request& req) {
  Query q;
  q.start = "-";
  std::string v;
  if (req.QueryParam("since", &v)) {
    auto ms = ParseRfc3339(v);
    if (!ms) return ms.error();
    q.start = std::to_string(*ms < 0 ? 0 : *ms) + "-0";
  }
  if (req.QueryParam("after", &v)) {
    if (!watch::IsEntryId(v)) {
      return Error{Code::kInvalidArgument,
                   "after: an entry id (the previous page's next) expected"};
    }
    q.start = "(" + v;
  }
  if (req.QueryParam("limit", &v)) {
    auto n = util::ParseInt(v);
    if (!n || *n < 1 || *n > kMaxLimit) {
      return Error{Code::kInvalidArgument,
                   "limit: a whole number from 1 to " + std::to_string(kMaxLimit) + " expected"};
    }
    q.limit = *n;
  }
  return q;
}

std::vector<std::string> RecordCommand(std::string_view prefix, std::string_view tenant,
                                       const redis::args::Audit& who, std::string_view action,
                                       std::string_view instance_id, std::string_view request_id,
                                       int64_t at_ms) {
  return {"XADD",
          redis::keys::TenantAudit(prefix, tenant),
          "MAXLEN",
          "~",
          std::to_string(kMaxEntries),
          "*",
          "instance_id",
          std::string(instance_id),
          "action",
          std::string(action),
          "key_id",
          who.key_id,
          "key_name",
          who.key_name,
          "client",
          who.client,
          "request_id",
          std::string(request_id),
          "dialect",
          who.dialect,
          "at",
          std::to_string(at_ms)};
}

std::string PageBody(const redis::Value& xrange, int64_t limit) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::Key(w, "entries");
  w.StartArray();
  std::string last;
  int64_t n = 0;
  for (const auto& item : xrange.elements) {
    if (item.elements.size() != 2) continue;
    last = item.elements[0].str;
    ++n;
    std::string fields[8];
    static constexpr std::string_view kNames[] = {
        "instance_id", "action", "key_id", "key_name", "client", "request_id", "dialect", "at"};
    const auto& kv = item.elements[1].elements;
    for (size_t i = 0; i + 1 < kv.size(); i += 2) {
      for (size_t f = 0; f < 8; ++f) {
        if (kv[i].str == kNames[f]) fields[f] = kv[i + 1].str;
      }
    }
    const int64_t at_ms = util::ParseInt(fields[7]).value_or(0);
    w.StartObject();
    json::KV(w, "id", last);
    json::KV(w, "at", util::Rfc3339(at_ms));
    json::KV(w, "at_ms", at_ms);
    json::KV(w, "instance_id", fields[0]);
    json::KV(w, "action", fields[1]);
    json::Key(w, "actor");
    w.StartObject();
    json::KV(w, "key_id", fields[2]);
    json::KV(w, "key_name", fields[3]);
    w.EndObject();
    json::KV(w, "client", fields[4]);
    json::KV(w, "request_id", fields[5]);
    json::KV(w, "dialect", fields[6]);
    w.EndObject();
  }
  w.EndArray();
  json::Key(w, "next");
  if (n >= limit && !last.empty()) {
    json::Str(w, last);
  } else {
    w.Null();
  }
  w.EndObject();
  return {sb.GetString(), sb.GetSize()};
}

}  // namespace lambda::shim::audit

#include "idempotency/compact.h"

#include <rapidjson/document.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "lambda/json/json.h"

namespace lambda::idempotency {
namespace {

struct Span {
  size_t begin = 0;
  size_t len = 0;
};

/// The contents of the quoted strings of `text` (from a quote to the next unescaped quote), in
/// order. Any text has an answer, so Compact and Expand agree on what they index.
std::vector<Span> Strings(std::string_view text) {
  std::vector<Span> out;
  size_t i = 0;
  while ((i = text.find('"', i)) != std::string_view::npos) {
    size_t begin = ++i;
    while (i < text.size() && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
    if (i >= text.size()) break;  // unterminated: not a string
    out.push_back({begin, i - begin});
    ++i;
  }
  return out;
}

/// One entry of the kept form: `n` times the piece followed by the next request string, from
/// `ref` on.
struct Run {
  size_t piece = 0;
  size_t ref = 0;
  size_t n = 0;
};

}  // namespace

std::string Compact(std::string_view request_body, std::string_view answer) {
  const auto req = Strings(request_body);
  std::unordered_map<std::string_view, size_t> index;
  for (size_t i = 0; i < req.size(); ++i) {
    if (req[i].len >= kMinShared) index.emplace(request_body.substr(req[i].begin, req[i].len), i);
  }
  std::vector<std::string_view> pieces;
  std::unordered_map<std::string_view, size_t> piece_ids;
  auto intern = [&](std::string_view p) {
    auto [it, fresh] = piece_ids.emplace(p, pieces.size());
    if (fresh) pieces.push_back(p);
    return it->second;
  };
  std::vector<Run> runs;
  size_t cut = 0;
  for (const Span& s : Strings(answer)) {
    if (s.len < kMinShared) continue;
    auto it = index.find(answer.substr(s.begin, s.len));
    if (it == index.end()) continue;
    size_t piece = intern(answer.substr(cut, s.begin - cut));
    if (!runs.empty() && runs.back().piece == piece &&
        runs.back().ref + runs.back().n == it->second) {
      ++runs.back().n;
    } else {
      runs.push_back({piece, it->second, 1});
    }
    cut = s.begin + s.len;
  }
  size_t tail = intern(answer.substr(cut));
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::Key(w, "pieces");
  w.StartArray();
  for (auto p : pieces) json::Str(w, p);
  w.EndArray();
  json::Key(w, "runs");
  w.StartArray();
  for (const Run& r : runs) {
    w.StartArray();
    w.Uint64(r.piece);
    w.Uint64(r.ref);
    w.Uint64(r.n);
    w.EndArray();
  }
  w.EndArray();
  json::Key(w, "tail");
  w.Uint64(tail);
  w.EndObject();
  return {sb.GetString(), sb.GetSize()};
}

std::optional<std::string> Expand(std::string_view request_body, std::string_view compact) {
  json::Document d;
  if (!json::Parse(compact, &d, "kept answer") || !d.IsObject()) return std::nullopt;
  auto pieces = d.FindMember("pieces");
  auto runs = d.FindMember("runs");
  auto tail = d.FindMember("tail");
  if (pieces == d.MemberEnd() || !pieces->value.IsArray() || runs == d.MemberEnd() ||
      !runs->value.IsArray() || tail == d.MemberEnd() || !tail->value.IsUint64()) {
    return std::nullopt;
  }
  std::vector<std::string_view> piece;
  for (const auto& p : pieces->value.GetArray()) {
    if (!p.IsString()) return std::nullopt;
    piece.emplace_back(p.GetString(), p.GetStringLength());
  }
  const auto req = Strings(request_body);
  std::string out;
  for (const auto& r : runs->value.GetArray()) {
    if (!r.IsArray() || r.Size() != 3 || !r[0].IsUint64() || !r[1].IsUint64() || !r[2].IsUint64())
      return std::nullopt;
    uint64_t p = r[0].GetUint64(), ref = r[1].GetUint64(), n = r[2].GetUint64();
    if (p >= piece.size() || ref > req.size() || n > req.size() - ref) return std::nullopt;
    for (uint64_t k = 0; k < n; ++k) {
      out.append(piece[p]);
      out.append(request_body.substr(req[ref + k].begin, req[ref + k].len));
    }
  }
  if (tail->value.GetUint64() >= piece.size()) return std::nullopt;
  out.append(piece[tail->value.GetUint64()]);
  return out;
}

}  // namespace lambda::idempotency

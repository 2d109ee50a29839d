#include "lambda/http/router.h"

namespace lambda::http {
namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return out;
}

// Fills *id from the "{id}" segment when the pattern has one.
bool SegmentsMatch(const std::vector<std::string_view>& pattern,
                   const std::vector<std::string_view>& path, std::string* id) {
  if (pattern.size() != path.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == "{id}") {
      *id = std::string(path[i]);
    } else if (pattern[i] != path[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

Router::Router(std::vector<RouteSpec> table) : table_(std::move(table)) {
  patterns_.reserve(table_.size());
  for (const auto& e : table_) patterns_.push_back(Split(e.pattern));
}

PathMatch Router::Match(std::string_view method, std::string_view path) const {
  if (path.size() > 1 && path.find("//") != std::string_view::npos) return {};
  auto segs = Split(path);
  PathMatch m;
  std::string allow;
  // HEAD is GET without the body (the server drops it); OPTIONS answers the Allow set.
  const std::string_view want = method == "HEAD" ? std::string_view("GET") : method;
  bool literal_hit = false;
  for (size_t i = 0; i < table_.size(); ++i) {
    const auto& e = table_[i];
    std::string id;
    if (!SegmentsMatch(patterns_[i], segs, &id)) continue;
    bool is_literal = e.pattern.find("{id}") == std::string_view::npos;
    if (!is_literal && literal_hit) continue;
    if (is_literal) literal_hit = true;
    if (e.method == want && m.kind == PathMatch::Kind::kNotFound) {
      m.kind = PathMatch::Kind::kFound;
      m.route = e.route;
      m.id = id;
    }
    if (allow.find(e.method) == std::string::npos) {
      if (!allow.empty()) allow += ", ";
      allow += e.method;
      if (e.method == "GET") allow += ", HEAD";
    }
  }
  if (allow.empty()) return {};
  allow += ", OPTIONS";
  if (method == "OPTIONS") return {PathMatch::Kind::kOptions, -1, {}, allow};
  if (m.kind == PathMatch::Kind::kFound) return m;
  return {PathMatch::Kind::kMethodNotAllowed, -1, {}, allow};
}

}  // namespace lambda::http

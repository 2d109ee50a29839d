#include "lambda/http/router.h"

#include <array>

namespace lambda::http {
namespace {

// A request path's segments, without allocating: no route is this deep, so a deeper path is
// simply not found.
constexpr size_t kMaxSegments = 16;
struct PathSegments {
  std::array<std::string_view, kMaxSegments> at;
  size_t n = 0;
  bool too_deep = false;
};

template <typename Add>
void ForEachSegment(std::string_view path, Add add) {
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    if (!add(path.substr(0, slash))) return;
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
}

PathSegments SplitPath(std::string_view path) {
  PathSegments out;
  ForEachSegment(path, [&out](std::string_view seg) {
    if (out.n == kMaxSegments) {
      out.too_deep = true;
      return false;
    }
    out.at[out.n++] = seg;
    return true;
  });
  return out;
}

// Sets *id to the "{id}" segment when the pattern has one.
bool SegmentsMatch(const std::vector<std::string_view>& pattern, const PathSegments& path,
                   std::string_view* id) {
  if (pattern.size() != path.n) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == "{id}") {
      *id = path.at[i];
    } else if (pattern[i] != path.at[i]) {
      return false;
    }
  }
  return true;
}

// Calls visit(entry, id) for each entry matching `segs`, in table order: a literal entry that
// matched shadows the "{id}" entries after it.
template <typename Visit>
void ForEachMatch(const std::vector<RouteSpec>& table,
                  const std::vector<std::vector<std::string_view>>& patterns,
                  const std::vector<bool>& literal, const PathSegments& segs, Visit visit) {
  bool literal_hit = false;
  for (size_t i = 0; i < table.size(); ++i) {
    std::string_view id;
    if (!SegmentsMatch(patterns[i], segs, &id)) continue;
    if (!literal[i] && literal_hit) continue;
    if (literal[i]) literal_hit = true;
    visit(table[i], id);
  }
}

}  // namespace

Router::Router(std::vector<RouteSpec> table) : table_(std::move(table)) {
  patterns_.reserve(table_.size());
  literal_.reserve(table_.size());
  for (const auto& e : table_) {
    std::vector<std::string_view> segs;
    ForEachSegment(e.pattern, [&segs](std::string_view seg) {
      segs.push_back(seg);
      return true;
    });
    patterns_.push_back(std::move(segs));
    literal_.push_back(e.pattern.find("{id}") == std::string_view::npos);
  }
}

PathMatch Router::Match(std::string_view method, std::string_view path) const {
  if (path.size() > 1 && path.find("//") != std::string_view::npos) return {};
  const PathSegments segs = SplitPath(path);
  if (segs.too_deep) return {};
  // HEAD is GET without the body (the server drops it); OPTIONS answers the Allow set.
  const std::string_view want = method == "HEAD" ? std::string_view("GET") : method;
  const RouteSpec* found = nullptr;
  std::string_view found_id;
  bool any = false;
  ForEachMatch(table_, patterns_, literal_, segs, [&](const RouteSpec& e, std::string_view id) {
    any = true;
    if (found == nullptr && e.method == want) {
      found = &e;
      found_id = id;
    }
  });
  if (!any) return {};
  if (found != nullptr && method != "OPTIONS") {
    return {PathMatch::Kind::kFound, found->route, std::string(found_id), {}};
  }
  // Only the answers that carry an Allow header pay for building it.
  std::string allow;
  ForEachMatch(table_, patterns_, literal_, segs, [&allow](const RouteSpec& e, std::string_view) {
    if (allow.find(e.method) != std::string::npos) return;
    if (!allow.empty()) allow += ", ";
    allow += e.method;
    if (e.method == "GET") allow += ", HEAD";
  });
  allow += ", OPTIONS";
  if (method == "OPTIONS") return {PathMatch::Kind::kOptions, -1, {}, allow};
  return {PathMatch::Kind::kMethodNotAllowed, -1, {}, allow};
}

}  // namespace lambda::http

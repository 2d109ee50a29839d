#pragma once
/// Pure, table-driven routing: (method, path) → one entry of the table with its "{id}" segment,
/// or not found / method not allowed / OPTIONS, with the Allow set. Each binary owns its table
/// (the shim's service routes, the worker's health routes); matching is the same for both.
#include <string>
#include <string_view>
#include <vector>

namespace lambda::http {

/// One table entry; `route` is the owner's enum value. "{id}" matches any one segment.
struct RouteSpec {
  std::string_view method;
  std::string_view pattern;
  int route;
};

struct PathMatch {
  enum class Kind { kNotFound, kMethodNotAllowed, kOptions, kFound };
  Kind kind = Kind::kNotFound;
  int route = -1;     ///< kFound: the entry's route
  std::string id;     ///< the "{id}" segment, when the pattern has one
  std::string allow;  ///< kMethodNotAllowed / kOptions: the Allow header value
};

class Router {
 public:
  /// Order matters: literal segments before "{id}" at the same depth.
  explicit Router(std::vector<RouteSpec> table);

  /// A trailing slash is optional; "//" is never a route. HEAD matches as GET; OPTIONS on a known
  /// path is kOptions. Allow lists HEAD beside GET and always OPTIONS. A literal entry at a path
  /// shadows the "{id}" entries at the same path for every method.
  PathMatch Match(std::string_view method, std::string_view path) const;
  const std::vector<RouteSpec>& table() const { return table_; }

 private:
  std::vector<RouteSpec> table_;
  std::vector<std::vector<std::string_view>> patterns_;  ///< table_'s patterns, split once
  std::vector<bool> literal_;                            ///< entry i has no "{id}"
};

}  // namespace lambda::http

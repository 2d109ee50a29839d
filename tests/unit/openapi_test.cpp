// schemas/openapi.yaml and the router agree: every routed (method, path) is documented and every
// documented one is routed. Path parameters are compared by position, not by name.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "lambda/json/json.h"
#include "routes/table.h"

namespace lambda {
namespace {

// "/v0/pipelines/{name}/start" -> "/v0/pipelines/{}/start"
std::string Normalise(const std::string& path) {
  std::string out;
  bool in_param = false;
  for (char c : path) {
    if (c == '{') {
      in_param = true;
      out += "{}";
    } else if (c == '}') {
      in_param = false;
    } else if (!in_param) {
      out += c;
    }
  }
  return out;
}

std::set<std::string> Documented() {
  std::set<std::string> out;
  std::istringstream in{std::string(json::OpenApiText())};
  std::string line, path;
  bool in_paths = false;
  static const std::set<std::string> kMethods{"get", "post", "put", "patch", "delete"};
  while (std::getline(in, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (in_paths && !line.empty() && line[0] != ' ') break;  // next top-level key
    if (!in_paths) continue;
    if (line.rfind("  /", 0) == 0 && line.back() == ':') {
      path = line.substr(2, line.size() - 3);
    } else if (line.rfind("    ", 0) == 0 && line[4] != ' ') {
      std::string key = line.substr(4, line.find(':') - 4);
      if (kMethods.count(key)) {
        std::string m = key;
        for (auto& c : m) c = static_cast<char>(std::toupper(c));
        out.insert(m + " " + Normalise(path));
      }
    }
  }
  return out;
}

TEST(OpenApi, EveryRouteIsDocumentedAndEveryDocumentedPathIsRouted) {
  std::set<std::string> routed;
  for (const auto& e : routes::AllRoutes())
    routed.insert(std::string(e.method) + " " + Normalise(std::string(e.pattern)));
  auto documented = Documented();
  ASSERT_GT(documented.size(), 20u);
  for (const auto& r : routed) EXPECT_TRUE(documented.count(r)) << "not in openapi.yaml: " << r;
  for (const auto& d : documented)
    EXPECT_TRUE(routed.count(d)) << "documented but not routed: " << d;
}

}  // namespace
}  // namespace lambda

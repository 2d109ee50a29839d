// tests/http_cases/*.http: raw requests sent byte for byte, with the status (and optionally a
// body fragment) they must get. Each file says why it exists. {{KEY}} is replaced by a valid key.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support.h"

namespace lambda {
namespace {

struct HttpCase {
  std::string name, why, request, expect_body;
  int expect_status = 0;
  bool expect_close = false;
};

HttpCase Load(const std::filesystem::path& p) {
  std::ifstream f(p);
  HttpCase c;
  c.name = p.filename().string();
  std::string line, raw;
  bool in_request = false;
  while (std::getline(f, line)) {
    if (!in_request && line.rfind("# why: ", 0) == 0)
      c.why = line.substr(7);
    else if (!in_request && line.rfind("# expect-status: ", 0) == 0)
      c.expect_status = std::stoi(line.substr(17));
    else if (!in_request && line.rfind("# expect-body: ", 0) == 0)
      c.expect_body = line.substr(15);
    else if (!in_request && line == "# expect-close")
      c.expect_close = true;
    else if (!in_request && line == "# request:")
      in_request = true;
    else if (in_request)
      raw += line + "\n";
  }
  // Files hold LF lines; HTTP wants CRLF. "\\r\\n" escapes nothing else.
  std::string req;
  for (char ch : raw) {
    if (ch == '\n')
      req += "\r\n";
    else
      req += ch;
  }
  // A trailing "<EOF>" marks where the bytes end (so bodies can omit a final CRLF).
  if (auto eof = req.find("<EOF>"); eof != std::string::npos) req = req.substr(0, eof);
  c.request = req;
  return c;
}

TEST(HttpCases, EveryCaseGetsItsAnswer) {
  testing::Stack stack(testing::Stack::Options{
      1, {"--max-header-bytes", "8192", "--request-timeout-ms", "1500"}, {}});
  std::string key = stack.NewKey("cases");
  auto ids = stack.Seed(1, "STOPPED", "cases");
  std::filesystem::path dir = testing::EnvOr("LAMBDA_SOURCE_DIR") + "/tests/http_cases";
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".http") continue;
    HttpCase c = Load(entry.path());
    ASSERT_FALSE(c.why.empty()) << c.name << " must say why it exists";
    ASSERT_NE(c.expect_status, 0) << c.name;
    for (auto [from, to] : {std::pair<std::string, std::string>{"{{KEY}}", key},
                            {"{{ID}}", ids[0]},
                            {"{{BIGHEADER}}", std::string(9000, 'a')},
                            {"{{DEEP}}", std::string(200000, '[')}}) {
      for (size_t pos; (pos = c.request.find(from)) != std::string::npos;)
        c.request.replace(pos, from.size(), to);
    }
    int requests = 0;
    for (size_t pos = 0; (pos = c.request.find(" HTTP/", pos)) != std::string::npos; ++pos)
      ++requests;
    std::string reply = testing::RawHttp(stack.port(), c.request, std::chrono::milliseconds(4000),
                                         std::max(requests, 1));
    std::string status_line = reply.substr(0, reply.find("\r\n"));
    EXPECT_EQ(status_line.substr(0, 12), "HTTP/1.1 " + std::to_string(c.expect_status))
        << c.name << " (" << c.why << "): " << reply.substr(0, 300);
    if (!c.expect_body.empty()) {
      EXPECT_NE(reply.find(c.expect_body), std::string::npos) << c.name << ": " << reply;
    }
    if (c.expect_close) {
      EXPECT_NE(reply.find("Connection: close"), std::string::npos) << c.name;
    }
    ++n;
  }
  EXPECT_GE(n, 10);
  EXPECT_TRUE(stack.shim().Alive()) << "no input may crash the shim";
}

}  // namespace
}  // namespace lambda

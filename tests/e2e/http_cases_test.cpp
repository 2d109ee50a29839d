// tests/http_cases/*.http: raw requests sent byte for byte, with the status (and optionally a
// body fragment) they must get. Each file says why it exists. {{KEY}} is replaced by a valid key.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

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

// The server writes an answer at once when the socket takes it whole and queues what it does not
// take: more answers than the kernel can hold for a client that lets them pile up before it
// reads, pipelined large and small, must arrive byte for byte and in order.
TEST(HttpCases, PipelinedAnswersLargerThanTheSocketArriveWholeAndInOrder) {
  testing::Stack stack(testing::Stack::Options{1, {}, {}});
  const auto spec = testing::Http("GET", stack.url() + "/api/openapi.yaml");
  ASSERT_EQ(spec.status, 200);
  ASSERT_GT(spec.body.size(), 16000u);
  const auto health = testing::Http("GET", stack.url() + "/healthz");
  ASSERT_EQ(health.status, 200);
  // The fault this test needs: more to send than the largest send buffer the kernel grants a
  // socket (tcp_wmem's maximum) plus what the client's tiny receive buffer holds, so that some
  // answers only partly fit and the rest must wait in the server's queue.
  size_t wmem_max = 4u << 20;
  {
    std::ifstream f("/proc/sys/net/ipv4/tcp_wmem");
    size_t lo = 0, def = 0;
    f >> lo >> def >> wmem_max;
  }
  const int pairs = static_cast<int>(wmem_max * 5 / 4 / spec.body.size()) + 1;
  ASSERT_GT(spec.body.size() * static_cast<size_t>(pairs), wmem_max + 65536);
  std::string requests;
  for (int i = 0; i < pairs; ++i) {
    requests += "GET /api/openapi.yaml HTTP/1.1\r\nHost: x\r\n\r\n";
    requests += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  int fd = testing::ConnectLoopback(stack.port(), 2048);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(send(fd, requests.data(), requests.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(requests.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the answers pile up
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  size_t complete_answers = 0, parsed = 0;  // answers whole so far, and where the next begins
  while (complete_answers < 2 * static_cast<size_t>(pairs) &&
         std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0) break;
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
    while (true) {
      size_t end = got.find("\r\n\r\n", parsed);
      if (end == std::string::npos) break;
      size_t cl = got.find("Content-Length: ", parsed);
      if (cl == std::string::npos || cl > end) break;
      size_t body = std::stoul(got.substr(cl + 16, 12));
      if (got.size() < end + 4 + body) break;
      parsed = end + 4 + body;
      ++complete_answers;
    }
  }
  close(fd);
  ASSERT_EQ(complete_answers, 2u * static_cast<size_t>(pairs)) << got.size() << " bytes";
  size_t pos = 0;
  for (int i = 0; i < 2 * pairs; ++i) {
    size_t end = got.find("\r\n\r\n", pos);
    ASSERT_NE(end, std::string::npos);
    ASSERT_EQ(got.compare(pos, 15, "HTTP/1.1 200 OK"), 0) << i << ": " << got.substr(pos, 80);
    size_t cl = got.find("Content-Length: ", pos);
    size_t body = std::stoul(got.substr(cl + 16, 12));
    const std::string& expect = i % 2 == 0 ? spec.body : health.body;
    ASSERT_TRUE(got.compare(end + 4, body, expect) == 0 && body == expect.size()) << "answer " << i;
    pos = end + 4 + body;
  }
  EXPECT_EQ(pos, got.size());
  EXPECT_TRUE(stack.shim().Alive());
}

}  // namespace
}  // namespace lambda

#include "lambda/http/parser.h"

#include <gtest/gtest.h>

namespace lambda::http {
namespace {

RequestParser::State FeedAll(RequestParser& p, const std::string& s, size_t* used) {
  return p.Feed(s.data(), s.size(), used);
}

TEST(RequestParser, ParsesHeadersQueryAndBody) {
  RequestParser p;
  std::string raw =
      "POST /api/lambda-instances/%61bc/?limit=5&offset=2 HTTP/1.1\r\nHost: x\r\nX-API-Key: k1\r\n"
      "Content-Length: 4\r\n\r\nbody";
  size_t used = 0;
  ASSERT_EQ(FeedAll(p, raw, &used), RequestParser::State::kComplete);
  EXPECT_EQ(used, raw.size());
  Request r = p.Take();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/api/lambda-instances/abc/");
  EXPECT_EQ(r.query, "limit=5&offset=2");
  ASSERT_NE(r.Header("x-api-key"), nullptr);
  EXPECT_EQ(*r.Header("x-api-key"), "k1");
  EXPECT_EQ(r.body, "body");
  std::string v;
  EXPECT_TRUE(r.QueryParam("limit", &v));
  EXPECT_EQ(v, "5");
  EXPECT_TRUE(r.keep_alive);
}

TEST(RequestParser, SplitAcrossReadsAndPipelined) {
  RequestParser p;
  std::string one = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string two = "GET /b HTTP/1.1\r\nHo";
  std::string rest = "st: x\r\nConnection: close\r\n\r\n";
  std::string all = one + two;
  size_t used = 0;
  ASSERT_EQ(FeedAll(p, all, &used), RequestParser::State::kComplete);
  EXPECT_EQ(used, one.size());
  EXPECT_EQ(p.Take().path, "/a");
  size_t used2 = 0;
  EXPECT_EQ(p.Feed(all.data() + used, all.size() - used, &used2), RequestParser::State::kNeedMore);
  ASSERT_EQ(FeedAll(p, rest, &used), RequestParser::State::kComplete);
  Request b = p.Take();
  EXPECT_EQ(b.path, "/b");
  EXPECT_FALSE(b.keep_alive);
}

TEST(RequestParser, ChunkedBody) {
  RequestParser p;
  std::string raw =
      "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  size_t used = 0;
  ASSERT_EQ(FeedAll(p, raw, &used), RequestParser::State::kComplete);
  EXPECT_EQ(p.Take().body, "abcde");
}

TEST(RequestParser, HeaderTooLargeIs431) {
  RequestParser p(ParserLimits{1024, 1 << 20});
  std::string raw = "GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";
  size_t used = 0;
  EXPECT_EQ(FeedAll(p, raw, &used), RequestParser::State::kError);
  EXPECT_EQ(p.error_status(), 431);
}

TEST(RequestParser, BodyTooLargeIs413ByLengthAndByChunks) {
  RequestParser p(ParserLimits{8192, 10});
  size_t used = 0;
  EXPECT_EQ(FeedAll(p, "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", &used),
            RequestParser::State::kError);
  EXPECT_EQ(p.error_status(), 413);
  RequestParser q(ParserLimits{8192, 10});
  EXPECT_EQ(FeedAll(q, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nb\r\nhello world\r\n",
                    &used),
            RequestParser::State::kError);
  EXPECT_EQ(q.error_status(), 413);
}

TEST(RequestParser, MalformedIs400) {
  for (std::string raw :
       {"GARBAGE\r\n\r\n", "GET / HTTP/9.Z\r\n\r\n", "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n"}) {
    RequestParser p;
    size_t used = 0;
    EXPECT_EQ(FeedAll(p, raw, &used), RequestParser::State::kError) << raw;
    EXPECT_EQ(p.error_status(), 400) << raw;
  }
}

TEST(Serialize, StatusLineLengthAndClose) {
  Response r;
  r.status = 202;
  r.body = "{}";
  r.headers.emplace_back("Retry-After", "1");
  std::string s = Serialize(r, false);
  EXPECT_EQ(s.rfind("HTTP/1.1 202 Accepted\r\n", 0), 0u);
  EXPECT_NE(s.find("Content-Length: 2\r\n"), std::string::npos);
  EXPECT_NE(s.find("Retry-After: 1\r\n"), std::string::npos);
  EXPECT_NE(s.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(s.substr(s.size() - 2), "{}");
}

// RFC 9110 §7.8: an Upgrade offer (h2c from Java's HttpClient and curl --http2) is ignored; the
// request, its body and the next request on the connection are read as HTTP/1.1.
TEST(RequestParser, UpgradeIsIgnoredAndTheBodyAndNextRequestAreRead) {
  RequestParser p;
  std::string post =
      "POST /api/lambda-instances/ HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\n"
      "Content-Length: 7\r\nHost: 127.0.0.1:41871\r\n"
      "HTTP2-Settings: AAEAAEAAAAIAAAAAAAMAAAAAAAQBAAAAAAUAAEAAAAYABgAA\r\nUpgrade: h2c\r\n"
      "User-Agent: Java-http-client/17.0.15\r\nContent-Type: application/json\r\n\r\n{\"a\":1}";
  std::string get =
      "GET /healthz HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nContent-Length: 0\r\n"
      "Host: 127.0.0.1:41871\r\nHTTP2-Settings: "
      "AAEAAEAAAAIAAAAAAAMAAAAAAAQBAAAAAAUAAEAAAAYABgAA\r\n"
      "Upgrade: h2c\r\nUser-Agent: Java-http-client/17.0.15\r\n\r\n";
  std::string all = post + get;
  size_t used = 0;
  ASSERT_EQ(FeedAll(p, all, &used), RequestParser::State::kComplete);
  EXPECT_EQ(used, post.size());
  Request r = p.Take();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.body, "{\"a\":1}");
  EXPECT_TRUE(r.keep_alive);
  size_t used2 = 0;
  ASSERT_EQ(p.Feed(all.data() + used, all.size() - used, &used2), RequestParser::State::kComplete);
  EXPECT_EQ(used2, get.size());
  Request g = p.Take();
  EXPECT_EQ(g.path, "/healthz");
  EXPECT_TRUE(g.keep_alive);
}

TEST(RequestParser, UpgradeWithAChunkedBodyIsReadToo) {
  RequestParser p;
  std::string raw =
      "POST /x HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n"
      "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /y HTTP/1.1\r\n\r\n";
  size_t used = 0;
  ASSERT_EQ(FeedAll(p, raw, &used), RequestParser::State::kComplete);
  EXPECT_EQ(p.Take().body, "abc");
  size_t used2 = 0;
  ASSERT_EQ(p.Feed(raw.data() + used, raw.size() - used, &used2), RequestParser::State::kComplete);
  EXPECT_EQ(p.Take().path, "/y");
}

TEST(RequestParser, ConnectIsRefused) {
  RequestParser p;
  std::string raw = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
  size_t used = 0;
  EXPECT_EQ(FeedAll(p, raw, &used), RequestParser::State::kError);
  EXPECT_EQ(p.error_status(), 400);
}

TEST(RequestParser, Http10KeepAliveOnlyWhenAsked) {
  RequestParser p;
  std::string raw = "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n";
  size_t used = 0;
  ASSERT_EQ(FeedAll(p, raw, &used), RequestParser::State::kComplete);
  Request a = p.Take();
  EXPECT_TRUE(a.http10);
  EXPECT_TRUE(a.keep_alive);
  size_t used2 = 0;
  ASSERT_EQ(p.Feed(raw.data() + used, raw.size() - used, &used2), RequestParser::State::kComplete);
  Request b = p.Take();
  EXPECT_TRUE(b.http10);
  EXPECT_FALSE(b.keep_alive);
}

TEST(Serialize, AnnouncesKeepAliveWhenAskedAndNeverOnClose) {
  Response r;
  r.body = "{}";
  EXPECT_NE(Serialize(r, true, true, true).find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_EQ(Serialize(r, true).find("Connection:"), std::string::npos);
  std::string closing = Serialize(r, false, true, true);
  EXPECT_NE(closing.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(closing.find("keep-alive"), std::string::npos);
}

}  // namespace
}  // namespace lambda::http

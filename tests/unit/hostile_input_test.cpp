// Regression cases for hostile input (issue "hostile input"): deep JSON, invalid UTF-8,
// whitespace before a header colon, Expect: 100-continue. Pure: parser, JSON and UTF-8 helpers.
#include <gtest/gtest.h>

#include "lambda/domain/command.h"
#include "lambda/http/message.h"
#include "lambda/http/parser.h"
#include "lambda/json/json.h"
#include "lambda/util/util.h"

namespace lambda {
namespace {

using http::RequestParser;

TEST(DeepJson, IsRefusedBeforeRapidJsonRecursesWhateverTheBracket) {
  for (const std::string& open : {std::string("["), std::string("{\"a\":")}) {
    std::string deep;
    for (int i = 0; i < 200000; ++i) deep += open;  // about 200 KB .. 1 MB, as in the finding
    rapidjson::Document d;
    auto st = json::Parse(deep, &d);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("nested deeper than 32 levels"), std::string::npos)
        << st.error().message;
  }
}

TEST(DeepJson, ThirtyTwoLevelsAreFineAndBracketsInStringsDoNotCount) {
  std::string ok = std::string(32, '[') + std::string(32, ']');
  rapidjson::Document d;
  EXPECT_TRUE(json::Parse(ok, &d).ok());
  std::string too_deep = std::string(33, '[') + std::string(33, ']');
  EXPECT_FALSE(json::Parse(too_deep, &d).ok());
  EXPECT_EQ(json::TooDeepAt(too_deep, 32), 32u);
  std::string in_string = R"({"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"[[[["})";
  EXPECT_TRUE(json::Parse(in_string, &d).ok());
}

TEST(DeepJson, StoredJsonParsesIterativelySoEvenADeepOneCannotRecurse) {
  // ParseStored skips the input checks (our own stored data passed them on admission), but it
  // never recurses: a deep document, however it got there, is parsed or refused, not a crash.
  rapidjson::Document d;
  EXPECT_TRUE(
      json::ParseStored(std::string(200000, '[') + std::string(200000, ']'), &d, "stored").ok());
  auto broken = json::ParseStored(R"({"servers":[)", &d, "stored servers");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().message.rfind("stored servers: invalid JSON at offset", 0), 0U)
      << broken.error().message;
  ASSERT_TRUE(json::ParseStored(R"([{"id":"a","ssh_port":22}])", &d, "stored").ok());
  EXPECT_EQ(d[0]["ssh_port"].GetInt(), 22);
}

TEST(JsonDocument, OutgrowsItsInlineBlockAndParsesAgainInTheSameObject) {
  // json::Document keeps its first 4 KiB of values inside itself; a larger text continues in
  // heap blocks, a failed parse leaves it usable, and a second parse into it starts over (run
  // under ASan in CI: a value left pointing at the wrong block is a use-after-free there).
  json::Document d;
  std::string big = "[";
  for (int i = 0; i < 3000; ++i)
    big += (i ? ",\"" : "\"") + std::string(20, static_cast<char>('a' + i % 26)) + "\"";
  big += "]";
  ASSERT_TRUE(json::Parse(big, &d).ok());
  ASSERT_EQ(d.Size(), 3000U);
  EXPECT_EQ(std::string(d[2999].GetString()), std::string(20, static_cast<char>('a' + 2999 % 26)));
  EXPECT_FALSE(json::Parse(R"({"a":)", &d).ok());
  ASSERT_TRUE(json::ParseStored(R"({"instance_name":"x","slaves":2})", &d, "stored").ok());
  EXPECT_EQ(d["slaves"].GetInt(), 2);
  EXPECT_EQ(std::string(d["instance_name"].GetString()), "x");
}

TEST(DeepJson, ACommandFromTheQueueIsAnErrorNotACrash) {
  auto c = domain::ParseCommand(std::string(100000, '['));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, Code::kInvalidArgument);
}

TEST(Utf8, InvalidSequencesAreRefusedOnInput) {
  rapidjson::Document d;
  for (const std::string& bad : {std::string("\xff\xfe"), std::string("\xc0\xaf"),  // overlong
                                 std::string("\xed\xa0\x80"),                       // surrogate
                                 std::string("\xf4\x90\x80\x80"),  // above U+10FFFF
                                 std::string("ab\xe2\x82")}) {     // truncated
    std::string body = "{\"instance_name\":\"" + bad + "\"}";
    auto st = json::Parse(body, &d);
    ASSERT_FALSE(st.ok()) << util::JsonEscape(bad);
    EXPECT_NE(st.error().message.find("invalid UTF-8"), std::string::npos) << st.error().message;
    EXPECT_FALSE(util::IsValidUtf8(bad));
  }
  EXPECT_TRUE(json::Parse("{\"n\":\"caf\xc3\xa9 \xf0\x9f\x9a\x80\"}", &d).ok());
  EXPECT_TRUE(util::IsValidUtf8("caf\xc3\xa9 \xf0\x9f\x9a\x80"));
}

// Found by fuzz_bodies: RapidJSON decodes a lone low surrogate escape into bytes that are not
// UTF-8, so a parsed body could not be written back as valid JSON.
TEST(Utf8, ALoneSurrogateEscapeIsRefusedAPairIsFine) {
  rapidjson::Document d;
  for (const std::string& bad :
       {std::string(R"({"n":"\uDE12"})"), std::string(R"({"n":"a\udc00b"})"),
        std::string(R"({"\uDFFF":1})"), std::string(R"({"n":"\uD83D x \uDE80"})")}) {
    auto st = json::Parse(bad, &d);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_NE(st.error().message.find("invalid UTF-8"), std::string::npos) << st.error().message;
  }
  ASSERT_TRUE(json::Parse(R"({"n":"\uD83D\uDE80 \\uDE12 \u00e9"})", &d).ok());
  EXPECT_TRUE(util::IsValidUtf8(d["n"].GetString()));
}

// Found by fuzz_command: a number past int64 passed the schema's "integer" and reached
// RapidJSON's GetInt64, which asserts (a worker crash from one queued message).
TEST(DeepJson, ACommandWithAnIntegerPastInt64IsAnErrorNotACrash) {
  const std::string base =
      R"({"v":1,"request_id":"r","instance_id":"0b0e3f0e-7a39-4f6a-9e2a-1c3a9c1e2f05",)"
      R"("action":"start","attempt":1,)";
  for (const std::string& tail : {std::string(R"("gen":3,"issued_at":17022222220000000000})"),
                                  std::string(R"("gen":18446744073709551615,"issued_at":1})"),
                                  std::string(R"("gen":9007199254740992,"issued_at":1})")}) {
    auto c = domain::ParseCommand(base + tail);
    ASSERT_FALSE(c.ok()) << tail;
    EXPECT_EQ(c.error().code, Code::kInvalidArgument);
  }
  EXPECT_TRUE(domain::ParseCommand(base + R"("gen":9007199254740991,"issued_at":1})").ok());
}

// Found by fuzz_bodies: RapidJSON 1.1 parses this number to infinity without an error, and its
// writer then stops half-way through the document.
TEST(DeepJson, ANumberThatOverflowsToInfinityIsRefused) {
  rapidjson::Document d;
  auto st = json::Parse(R"({"e":8888888854248905816426265,"n":544444400420364e0300})", &d);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("out of range"), std::string::npos) << st.error().message;
  EXPECT_TRUE(json::Parse(R"({"big":8888888854248905816426265,"small":1e-400})", &d).ok());
}

// Found by fuzz_command: a request id holding \u0000 was cut at the NUL, so the command written
// back (a retry, a republish) no longer passed its own schema.
TEST(DeepJson, ACommandStringWithANulKeepsItsLength) {
  const std::string body =
      R"({"v":1,"request_id":"\u000061x","instance_id":"0b0e3f0e-7a39-4f6a-9e2a-1c3a9c1e2f05",)"
      R"("action":"start","gen":1,"issued_at":170,"attempt":4})";
  auto c = domain::ParseCommand(body);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->request_id, std::string("\0"
                                       "61x",
                                       4));
  auto again = domain::ParseCommand(domain::ToJson(*c));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->request_id, c->request_id);
}

TEST(Utf8, EveryWriterProducesValidJsonWhateverIsStored) {
  std::string stored = "name\xff\xfe-end";
  EXPECT_EQ(util::ToValidUtf8(stored), "name\xef\xbf\xbd-end");
  EXPECT_TRUE(util::IsValidUtf8(util::JsonEscape(stored)));
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::KV(w, "name", stored);
  w.EndObject();
  rapidjson::Document d;
  ASSERT_TRUE(json::Parse(json::View(sb), &d).ok()) << json::View(sb);
  EXPECT_STREQ(d["name"].GetString(), "name\xef\xbf\xbd-end");
}

TEST(HeaderWhitespace, BeforeTheColonIsA400) {
  for (const std::string& raw : {std::string("GET / HTTP/1.1\r\nHost : x\r\n\r\n"),
                                 std::string("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n"),
                                 std::string("GET / HTTP/1.1\r\nX-API-Key : k\r\n\r\n")}) {
    RequestParser p;
    size_t used = 0;
    ASSERT_EQ(p.Feed(raw.data(), raw.size(), &used), RequestParser::State::kError);
    EXPECT_EQ(p.error_status(), 400);
    // http_parser itself refuses a tab there; the space is ours to refuse.
    EXPECT_TRUE(p.error_text().find("whitespace") != std::string::npos ||
                p.error_text().find("invalid character in header") != std::string::npos)
        << p.error_text();
  }
}

TEST(ExpectContinue, StopsAfterTheHeadThenReadsTheBodyAfterContinue) {
  RequestParser p;
  std::string head =
      "POST /api/lambda-instances/ HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\n"
      "Content-Length: 5\r\n\r\n";
  size_t used = 0;
  ASSERT_EQ(p.Feed(head.data(), head.size(), &used), RequestParser::State::kAwaitingContinue);
  EXPECT_EQ(p.head().method, "POST");
  EXPECT_EQ(p.head().path, "/api/lambda-instances/");
  // Nothing more is parsed until the server decided.
  size_t again = 0;
  EXPECT_EQ(p.Feed("hello", 5, &again), RequestParser::State::kAwaitingContinue);
  EXPECT_EQ(again, 0u);
  p.Continue();
  std::string rest = head.substr(used) + "hello";
  ASSERT_EQ(p.Feed(rest.data(), rest.size(), &again), RequestParser::State::kComplete);
  EXPECT_EQ(p.Take().body, "hello");
}

TEST(ExpectContinue, BodyInTheSameReadWaitsToo) {
  RequestParser p;
  std::string all =
      "POST /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi";
  size_t used = 0;
  ASSERT_EQ(p.Feed(all.data(), all.size(), &used), RequestParser::State::kAwaitingContinue);
  ASSERT_LE(used, all.size());
  p.Continue();
  size_t more = 0;
  ASSERT_EQ(p.Feed(all.data() + used, all.size() - used, &more), RequestParser::State::kComplete);
  EXPECT_EQ(used + more, all.size());
  EXPECT_EQ(p.Take().body, "hi");
}

TEST(ExpectContinue, OtherExpectationsAre417AndOversizedIs413AtOnce) {
  {
    RequestParser p;
    std::string raw = "POST /x HTTP/1.1\r\nHost: x\r\nExpect: fly\r\nContent-Length: 2\r\n\r\n";
    size_t used = 0;
    ASSERT_EQ(p.Feed(raw.data(), raw.size(), &used), RequestParser::State::kError);
    EXPECT_EQ(p.error_status(), 417);
  }
  {
    RequestParser p;
    std::string raw =
        "POST /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 99999999\r\n\r\n";
    size_t used = 0;
    ASSERT_EQ(p.Feed(raw.data(), raw.size(), &used), RequestParser::State::kError);
    EXPECT_EQ(p.error_status(), 413);
  }
}

TEST(Head, KeepsTheContentLengthAndDropsTheBody) {
  http::Response r;
  r.body = R"({"status":"ok"})";
  std::string wire = http::Serialize(r, true, false);
  EXPECT_NE(wire.find("Content-Length: 15\r\n"), std::string::npos);
  EXPECT_EQ(wire.substr(wire.size() - 4), "\r\n\r\n");
  http::Response none;
  none.status = 204;
  none.headers.emplace_back("Allow", "GET, HEAD, OPTIONS");
  std::string options = http::Serialize(none, true);
  EXPECT_EQ(options.find("Content-Length"), std::string::npos);
  EXPECT_NE(options.find("Allow: GET, HEAD, OPTIONS\r\n"), std::string::npos);
}

}  // namespace
}  // namespace lambda

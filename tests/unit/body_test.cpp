#include "routes/body.h"

#include <gtest/gtest.h>

namespace lambda::routes {
namespace {

http::Request WithBody(const std::string& content_type, const std::string& body) {
  http::Request r;
  if (!content_type.empty()) r.headers.emplace_back("content-type", content_type);
  r.body = body;
  return r;
}

std::optional<std::string> Action(const http::Request& r) {
  auto v = DecodeActionField(r);
  return v ? *v : std::nullopt;
}

TEST(DecodeAction, Urlencoded) {
  EXPECT_EQ(Action(WithBody("application/x-www-form-urlencoded", "action=start")), "start");
  EXPECT_EQ(Action(WithBody("", "x=1&action=stop")), "stop");
  EXPECT_EQ(Action(WithBody("application/x-www-form-urlencoded", "act%69on=st%61rt")), "start");
  EXPECT_FALSE(Action(WithBody("application/x-www-form-urlencoded", "nothing=1")).has_value());
}

TEST(DecodeAction, MultipartAsCurlSendsIt) {
  std::string body =
      "--------------------------abc123\r\n"
      "Content-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n"
      "--------------------------abc123\r\n"
      "Content-Disposition: form-data; name=\"action\"\r\n\r\nstart\r\n"
      "--------------------------abc123--\r\n";
  EXPECT_EQ(Action(WithBody("multipart/form-data; boundary=------------------------abc123", body)),
            "start");
  EXPECT_FALSE(Action(WithBody("multipart/form-data", body)).has_value());
  EXPECT_FALSE(Action(WithBody("multipart/form-data; boundary=zzz", body)).has_value());
  EXPECT_FALSE(Action(WithBody("multipart/form-data; boundary=x", "--x\r\nbroken")).has_value());
}

TEST(DecodeAction, Json) {
  EXPECT_EQ(Action(WithBody("application/json", R"({"action":"stop"})")), "stop");
  EXPECT_EQ(Action(WithBody("application/json; charset=utf-8", R"({"action":"start"})")), "start");
  EXPECT_FALSE(Action(WithBody("application/json", R"({"action":1})")).has_value());
  auto broken = DecodeActionField(WithBody("application/json", R"([)"));
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("invalid JSON"), std::string::npos);
  auto deep = DecodeActionField(WithBody("application/json", std::string(100000, '[')));
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().message.find("nested deeper than 32"), std::string::npos);
  auto bad_utf8 = DecodeActionField(WithBody("application/json", "{\"action\":\"\xff\xfe\"}"));
  ASSERT_FALSE(bad_utf8.ok());
  EXPECT_NE(bad_utf8.error().message.find("invalid UTF-8"), std::string::npos);
}

TEST(ControlCharacters, C0DelAndC1AreFoundPrintableTextIsNot) {
  EXPECT_FALSE(HasControlCharacter("cluster-1 (Kafka) \xce\xb1\xce\xb2 \xe2\x82\xac"));
  EXPECT_FALSE(HasControlCharacter("\xc2\xa0nbsp"));  // U+00A0 is printable
  EXPECT_TRUE(HasControlCharacter(std::string("a\0b", 3)));
  EXPECT_TRUE(HasControlCharacter("tab\there"));
  EXPECT_TRUE(HasControlCharacter("esc\x1b[31m"));
  EXPECT_TRUE(HasControlCharacter("del\x7f"));
  EXPECT_TRUE(
      HasControlCharacter("csi\xc2\x9b"
                          "31m"));               // U+009B
  EXPECT_TRUE(HasControlCharacter("\xc2\x80"));  // U+0080
}

TEST(ApiKey, AllFourHeaderFormsInOrder) {
  http::Request r;
  r.headers = {{"x-api-key", "k4"}};
  EXPECT_EQ(ExtractApiKey(r), "k4");
  r.headers = {{"authentication", "Token k3"}, {"x-api-key", "k4"}};
  EXPECT_EQ(ExtractApiKey(r), "k3");
  r.headers = {{"authorization", "Bearer k2"}, {"authentication", "Token k3"}};
  EXPECT_EQ(ExtractApiKey(r), "k2");
  r.headers = {{"authorization", "Token k1"}};
  EXPECT_EQ(ExtractApiKey(r), "k1");
  r.headers = {{"authorization", "Basic abc"}};
  EXPECT_EQ(ExtractApiKey(r), "");
  r.headers = {};
  EXPECT_EQ(ExtractApiKey(r), "");
}

TEST(RequestId, OnlySafeClientIds) {
  http::Request r;
  r.headers = {{"x-request-id", "abc-123_x.y"}};
  EXPECT_EQ(ClientRequestId(r), "abc-123_x.y");
  r.headers = {{"x-request-id", "bad\"id"}};
  EXPECT_FALSE(ClientRequestId(r).has_value());
  r.headers = {{"x-request-id", std::string(200, 'a')}};
  EXPECT_FALSE(ClientRequestId(r).has_value());
}

TEST(DecodeTags, TheWholeNewSet) {
  auto t = DecodeTagsBody(R"({"tags":{"team":"x","env":"dev"}})");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->size(), 2u);
  auto none = DecodeTagsBody(R"({"tags":{}})");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(DecodeTags, RefusesNamingTheProblem) {
  auto msg = [](std::string_view body) {
    auto t = DecodeTagsBody(body);
    EXPECT_FALSE(t) << body;
    return t ? std::string() : t.error().message;
  };
  EXPECT_EQ(msg("{}"), "tags: required (an object, {} for none)");
  EXPECT_EQ(msg("[]"), "the body must be a JSON object");
  EXPECT_EQ(msg(R"({"tags":{},"x":1})"), "unknown field 'x' (allowed: tags)");
  EXPECT_EQ(msg(R"({"tags":{"Team":"x"}})"),
            "tags.Team: a tag key may only hold a-z, 0-9, '_', '.' and '-'");
  EXPECT_EQ(msg(R"({"tags":{"team":7}})"), "tags.team: a tag value must be a string");
  EXPECT_FALSE(DecodeTagsBody("{"));
}

}  // namespace
}  // namespace lambda::routes

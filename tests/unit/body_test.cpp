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

TEST(DecodeAction, Urlencoded) {
  EXPECT_EQ(DecodeActionField(WithBody("application/x-www-form-urlencoded", "action=start")),
            "start");
  EXPECT_EQ(DecodeActionField(WithBody("", "x=1&action=stop")), "stop");
  EXPECT_EQ(DecodeActionField(WithBody("application/x-www-form-urlencoded", "act%69on=st%61rt")),
            "start");
  EXPECT_FALSE(
      DecodeActionField(WithBody("application/x-www-form-urlencoded", "nothing=1")).has_value());
}

TEST(DecodeAction, MultipartAsCurlSendsIt) {
  std::string body =
      "--------------------------abc123\r\n"
      "Content-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n"
      "--------------------------abc123\r\n"
      "Content-Disposition: form-data; name=\"action\"\r\n\r\nstart\r\n"
      "--------------------------abc123--\r\n";
  EXPECT_EQ(DecodeActionField(
                WithBody("multipart/form-data; boundary=------------------------abc123", body)),
            "start");
  EXPECT_FALSE(DecodeActionField(WithBody("multipart/form-data", body)).has_value());
  EXPECT_FALSE(DecodeActionField(WithBody("multipart/form-data; boundary=zzz", body)).has_value());
  EXPECT_FALSE(
      DecodeActionField(WithBody("multipart/form-data; boundary=x", "--x\r\nbroken")).has_value());
}

TEST(DecodeAction, Json) {
  EXPECT_EQ(DecodeActionField(WithBody("application/json", R"({"action":"stop"})")), "stop");
  EXPECT_EQ(DecodeActionField(WithBody("application/json; charset=utf-8", R"({"action":"start"})")),
            "start");
  EXPECT_FALSE(DecodeActionField(WithBody("application/json", R"({"action":1})")).has_value());
  EXPECT_FALSE(DecodeActionField(WithBody("application/json", R"([)")).has_value());
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

}  // namespace
}  // namespace lambda::routes

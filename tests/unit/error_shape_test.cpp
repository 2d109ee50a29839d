// routes::ErrorResponse: one function decides the shape of every error by its path's API.
#include "routes/error_shape.h"

#include <gtest/gtest.h>

#include "lambda/json/json.h"

namespace lambda::routes {
namespace {

rapidjson::Document Parse(const std::string& body) {
  rapidjson::Document d;
  EXPECT_TRUE(json::Parse(body, &d, "error body")) << body;
  return d;
}

TEST(ErrorShape, ByWholeLeadingSegments) {
  EXPECT_EQ(ErrorShapeOf("/v0"), ErrorShape::kFeldera);
  EXPECT_EQ(ErrorShapeOf("/v0/pipelines/x/start"), ErrorShape::kFeldera);
  EXPECT_EQ(ErrorShapeOf("/v0x/pipelines"), ErrorShape::kService);
  EXPECT_EQ(ErrorShapeOf("/api/v2/vm"), ErrorShape::kZenlayer);
  EXPECT_EQ(ErrorShapeOf("/api/v2/vm/"), ErrorShape::kZenlayer);
  EXPECT_EQ(ErrorShapeOf("/api/v2/vms"), ErrorShape::kService);
  EXPECT_EQ(ErrorShapeOf("/backend/lambda-instances/"), ErrorShape::kLegacy);
  EXPECT_EQ(ErrorShapeOf("/backendx"), ErrorShape::kService);
  EXPECT_EQ(ErrorShapeOf("/api/lambda-instances/"), ErrorShape::kService);
  EXPECT_EQ(ErrorShapeOf("/healthz"), ErrorShape::kService);
  EXPECT_EQ(ErrorShapeOf(""), ErrorShape::kService);
  EXPECT_EQ(ErrorShapeOf("*"), ErrorShape::kService);
}

TEST(ErrorShape, ServiceShape) {
  auto d = Parse(ErrorResponse("/api/nowhere", 413, "request body too large", "rid"));
  ASSERT_TRUE(d["errors"].IsArray());
  EXPECT_EQ(d["errors"][0]["status"].GetInt(), 413);
  EXPECT_STREQ(d["errors"][0]["detail"].GetString(), "request body too large");
  EXPECT_EQ(d.MemberCount(), 1u);
}

TEST(ErrorShape, LegacyShape) {
  auto d = Parse(ErrorResponse("/backend/x", 401, "Invalid token", "rid"));
  ASSERT_TRUE(d["errors"].IsArray());
  EXPECT_STREQ(d["errors"][0]["message"].GetString(), "Invalid token");
  EXPECT_EQ(d["errors"][0]["code"].GetInt(), 401);
  EXPECT_STREQ(d["errors"][0]["details"].GetString(), "unauthorized");
}

TEST(ErrorShape, ZenlayerShapeWithTheGivenRequestIdAndCode) {
  auto d = Parse(ErrorResponse("/api/v2/vm", 400, "malformed request", "r-1"));
  EXPECT_STREQ(d["requestId"].GetString(), "r-1");
  EXPECT_STREQ(d["code"].GetString(), "INVALID_PARAMETER");
  EXPECT_STREQ(d["message"].GetString(), "malformed request");
  EXPECT_EQ(d.MemberCount(), 3u);
  auto e = Parse(ErrorResponse("/api/v2/vm", 404, "gone", "r-2", "INVALID_INSTANCE_NOT_FOUND"));
  EXPECT_STREQ(e["code"].GetString(), "INVALID_INSTANCE_NOT_FOUND");
}

TEST(ErrorShape, FelderaShape) {
  auto d = Parse(ErrorResponse("/v0/pipelines", 401, "Unauthorized.", "rid"));
  EXPECT_STREQ(d["message"].GetString(), "Unauthorized.");
  EXPECT_STREQ(d["error_code"].GetString(), "Unauthorized");
  EXPECT_TRUE(d["details"].IsNull());
  EXPECT_EQ(d.MemberCount(), 3u);
}

TEST(ErrorShape, EveryStatusHasADialectCode) {
  for (int status : {400, 401, 403, 404, 405, 408, 409, 413, 417, 422, 429, 431, 500, 503, 504}) {
    EXPECT_FALSE(DefaultErrorCode(ErrorShape::kZenlayer, status).empty()) << status;
    EXPECT_FALSE(DefaultErrorCode(ErrorShape::kFeldera, status).empty()) << status;
    EXPECT_TRUE(DefaultErrorCode(ErrorShape::kService, status).empty()) << status;
  }
  EXPECT_EQ(DefaultErrorCode(ErrorShape::kZenlayer, 401), "AUTHENTICATION_FAILED");
  EXPECT_EQ(DefaultErrorCode(ErrorShape::kZenlayer, 429), "REQUEST_LIMIT_EXCEEDED");
  EXPECT_EQ(DefaultErrorCode(ErrorShape::kFeldera, 429), "TooManyRequests");
  EXPECT_EQ(DefaultErrorCode(ErrorShape::kFeldera, 503), "ServiceUnavailable");
}

}  // namespace
}  // namespace lambda::routes

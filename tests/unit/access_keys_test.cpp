// The access key check over Redis (SPEC §3): against a fake Redis, each answer it can give —
// unknown key, a secret sealed under another server key, a seen signature on the same or another
// request, Redis unable to answer — and the key cache.
#include "auth/access_keys.h"

#include <gtest/gtest.h>

#include <ctime>

#include "auth/zc2.h"
#include "fake_redis.h"
#include "lambda/redis/keys.h"

namespace lambda::shim {
namespace {

using FakeRedis = testing::RecordingRedis;

redis::Value Str(const std::string& s) {
  redis::Value v;
  v.type = redis::Value::Type::kString;
  v.str = s;
  return v;
}
redis::Value Nil() { return redis::Value{}; }
redis::Value Arr(std::vector<redis::Value> e) {
  redis::Value v;
  v.type = redis::Value::Type::kArray;
  v.elements = std::move(e);
  return v;
}
redis::Value Err(const std::string& s) {
  redis::Value v;
  v.type = redis::Value::Type::kError;
  v.str = s;
  return v;
}

crypto::ServerKey KeyOf(unsigned char fill) {
  std::array<unsigned char, crypto::ServerKey::kBytes> b{};
  b.fill(fill);
  return crypto::ServerKey(b);
}

constexpr char kId[] = "AK0123";
constexpr char kSecret[] = "the-secret";

/// A request as the SDK signs it with kSecret, `age_s` old.
http::Request Signed(const std::string& action = "StopInstances", int64_t age_s = 0) {
  http::Request r;
  r.method = "POST";
  r.target = r.path = "/api/v2/vm";
  r.body = R"({"instanceIds": ["i1"]})";
  r.headers = {{"host", "h:1"},
               {"content-type", "application/json"},
               {"x-zc-action", action},
               {"x-zc-timestamp", std::to_string(std::time(nullptr) - age_s)},
               {"authorization",
                "ZC2-HMAC-SHA256 Credential=" + std::string(kId) +
                    ", SignedHeaders=content-type;host, Signature=" + std::string(64, '0')}};
  auto sig = zc2::Sign(kSecret, *zc2::Read(r));
  r.headers.back().second = "ZC2-HMAC-SHA256 Credential=" + std::string(kId) +
                            ", SignedHeaders=content-type;host, Signature=" + sig;
  return r;
}

struct Outcome {
  bool called = false;
  Result<std::optional<std::string>> result = std::optional<std::string>{};
};

class AccessKeyCheck : public ::testing::Test {
 protected:
  void Check(AccessKeyAuthenticator& auth, const http::Request& req) {
    out_ = Outcome{};
    auth.Check(req, [this](Result<std::optional<std::string>> r) {
      out_.called = true;
      out_.result = std::move(r);
    });
  }
  redis::Value Stored(unsigned char key_fill = 7) {
    return Arr({Str("acme"), Str(*crypto::Seal(KeyOf(key_fill), kSecret, kId))});
  }
  bool Accepted() const {
    return out_.called && out_.result.ok() && *out_.result == std::optional<std::string>("acme");
  }
  bool Refused() const { return out_.called && out_.result.ok() && !out_.result->has_value(); }
  bool Unavailable() const {
    return out_.called && !out_.result.ok() && out_.result.error().code == Code::kUnavailable;
  }

  FakeRedis redis_;
  Outcome out_;
};

TEST_F(AccessKeyCheck, AGoodSignatureIsRecordedWithItsRequestThenAccepted) {
  AccessKeyAuthenticator auth(&redis_, "p:", 0, KeyOf(7));
  auto req = Signed();
  Check(auth, req);
  ASSERT_EQ(redis_.calls.size(), 1U);
  EXPECT_EQ(
      redis_.calls[0].argv,
      (std::vector<std::string>{"HMGET", redis::keys::AccessKey("p:", kId), "tenant", "secret"}));
  redis_.Answer(Stored());
  ASSERT_EQ(redis_.calls.size(), 1U);
  const auto& set = redis_.calls[0].argv;
  ASSERT_EQ(set.size(), 7U);
  EXPECT_EQ(set[0], "SET");
  EXPECT_EQ(set[2], zc2::RequestDigest(req));
  EXPECT_EQ(set[3], "NX");
  EXPECT_EQ(set[4], "GET");
  EXPECT_EQ(set[5], "EX");
  EXPECT_GE(std::stoi(set[6]), 300);
  EXPECT_FALSE(out_.called);
  redis_.Answer(Nil());  // not seen before
  EXPECT_TRUE(Accepted());
  // The same request again: the digest Redis kept is its own (an honest repeat).
  Check(auth, req);
  redis_.Answer(Stored());
  redis_.Answer(Str(zc2::RequestDigest(req)));
  EXPECT_TRUE(Accepted());
}

TEST_F(AccessKeyCheck, TheSameSignatureOnAnotherRequestIsRefused) {
  AccessKeyAuthenticator auth(&redis_, "p:", 0, KeyOf(7));
  Check(auth, Signed("StopInstances"));
  redis_.Answer(Stored());
  redis_.Answer(Str(zc2::RequestDigest(Signed("DescribeInstancesStatus"))));
  EXPECT_TRUE(Refused());
}

TEST_F(AccessKeyCheck, UnknownKeysForeignSecretsAndBadSignaturesAreRefused) {
  AccessKeyAuthenticator auth(&redis_, "p:", 0, KeyOf(7));
  Check(auth, Signed());
  redis_.Answer(Arr({Nil(), Nil()}));  // unknown or revoked
  EXPECT_TRUE(Refused());
  Check(auth, Signed());
  redis_.Answer(Stored(8));  // sealed under another server key
  EXPECT_TRUE(Refused());
  auto bad = Signed();
  bad.body += " ";
  Check(auth, bad);
  redis_.Answer(Stored());
  EXPECT_TRUE(Refused());
  EXPECT_TRUE(redis_.calls.empty());  // nothing recorded for a signature that does not verify
}

TEST_F(AccessKeyCheck, StaleUnsignedOrKeylessRequestsAreRefusedWithoutAskingRedis) {
  AccessKeyAuthenticator auth(&redis_, "p:", 0, KeyOf(7));
  Check(auth, Signed("StopInstances", 301));
  EXPECT_TRUE(Refused());
  Check(auth, Signed("StopInstances", -301));
  EXPECT_TRUE(Refused());
  http::Request token;
  token.headers = {{"authorization", "Token abc"}};
  Check(auth, token);
  EXPECT_TRUE(Refused());
  AccessKeyAuthenticator keyless(&redis_, "p:", 0, std::nullopt);
  Check(keyless, Signed());
  EXPECT_TRUE(Refused());
  EXPECT_TRUE(redis_.calls.empty());
}

TEST_F(AccessKeyCheck, RedisUnableToAnswerIsUnavailable) {
  AccessKeyAuthenticator auth(&redis_, "p:", 0, KeyOf(7));
  Check(auth, Signed());
  redis_.Answer(Error{Code::kUnavailable, "down"});
  EXPECT_TRUE(Unavailable());
  Check(auth, Signed());
  redis_.Answer(Err("LOADING"));
  EXPECT_TRUE(Unavailable());
  Check(auth, Signed());
  redis_.Answer(Stored());
  redis_.Answer(Err("ERR syntax error"));  // a Redis older than 7.0: no SET NX GET
  EXPECT_TRUE(Unavailable());
  Check(auth, Signed());
  redis_.Answer(Stored());
  redis_.Answer(Error{Code::kTimeout, "lost"});
  EXPECT_TRUE(Unavailable());
}

TEST_F(AccessKeyCheck, AnOpenedSecretIsCachedForTheKeyCacheTtl) {
  AccessKeyAuthenticator cached(&redis_, "p:", 60000, KeyOf(7));
  Check(cached, Signed());
  redis_.Answer(Stored());
  redis_.Answer(Nil());
  ASSERT_TRUE(Accepted());
  Check(cached, Signed("DescribeInstancesStatus", 1));
  ASSERT_EQ(redis_.calls.size(), 1U);  // no HMGET: straight to recording the signature
  EXPECT_EQ(redis_.calls[0].argv[0], "SET");
  redis_.Answer(Nil());
  EXPECT_TRUE(Accepted());
  // TTL 0 (as the tests run): every request asks, so a revocation shows at once.
  AccessKeyAuthenticator uncached(&redis_, "p:", 0, KeyOf(7));
  Check(uncached, Signed());
  redis_.Answer(Stored());
  redis_.Answer(Nil());
  Check(uncached, Signed());
  ASSERT_EQ(redis_.calls.size(), 1U);
  EXPECT_EQ(redis_.calls[0].argv[0], "HMGET");
  redis_.Answer(Arr({Nil(), Nil()}));
  EXPECT_TRUE(Refused());
}

TEST(AccessKeyBucket, SignedRequestsAreLimitedPerAccessKey) {
  EXPECT_EQ(AccessKeyAuthenticator::BucketOf(Signed()), "zc2:AK0123");
  http::Request token;
  token.headers = {{"authorization", "Token abc"}};
  EXPECT_EQ(AccessKeyAuthenticator::BucketOf(token), "");
  EXPECT_EQ(AccessKeyAuthenticator::BucketOf(http::Request{}), "");
}

}  // namespace
}  // namespace lambda::shim

// Idempotent retries without servers: key rules, fingerprints, records and the decision.
#include "idempotency/idempotency.h"

#include <gtest/gtest.h>

namespace lambda::idempotency {
namespace {

TEST(Idempotency, KeysAreOneTo64VisibleAsciiCharacters) {
  EXPECT_TRUE(ValidateKey("a"));
  EXPECT_TRUE(ValidateKey(std::string(64, '~')));
  EXPECT_TRUE(ValidateKey("4f1c-9:retry/2"));
  for (const std::string& bad : {std::string(), std::string(65, 'a'), std::string("a b"),
                                 std::string("tab\t"), std::string("\xc3\xa9")}) {
    EXPECT_FALSE(ValidateKey(bad)) << bad;
  }
  EXPECT_TRUE(Applies("POST"));
  EXPECT_TRUE(Applies("DELETE"));
  EXPECT_FALSE(Applies("GET"));
}

TEST(Idempotency, TheFingerprintCoversMethodPathActionHeaderAndBody) {
  http::Request a;
  a.method = "POST";
  a.path = "/api/v2/vm";
  a.headers = {{"x-zc-action", "StartInstances"}};
  a.body = R"({"instanceIds":["x"]})";
  http::Request b = a;
  EXPECT_EQ(Fingerprint(a), Fingerprint(b));
  b.headers = {{"x-zc-action", "StopInstances"}};
  EXPECT_NE(Fingerprint(a), Fingerprint(b));
  b = a;
  b.body += " ";
  EXPECT_NE(Fingerprint(a), Fingerprint(b));
  b = a;
  b.path = "/api/v2/vm/";
  EXPECT_NE(Fingerprint(a), Fingerprint(b));
  // The service API takes its action from the query too: `?action=start` after
  // `?action=stop` under one key is another request (422), not a replay.
  b = a;
  a.query = "action=stop";
  b.query = "action=start";
  EXPECT_NE(Fingerprint(a), Fingerprint(b));
}

TEST(Idempotency, RecordsRoundTripAndDecide) {
  Record done{true, "fp", 202, "application/json", R"({"a":"\"quoted\""})"};
  auto back = Decode(Encode(done));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->done);
  EXPECT_EQ(back->status, 202);
  EXPECT_EQ(back->body, done.body);
  EXPECT_FALSE(Decode("not json"));
  EXPECT_FALSE(Decode(R"({"state":"done","fp":"x"})"));  // a done record without its answer
  EXPECT_EQ(Decide(std::nullopt, "fp").kind, Begin::Kind::kNew);
  EXPECT_EQ(Decide(done, "fp").kind, Begin::Kind::kReplay);
  EXPECT_EQ(Decide(done, "other").kind, Begin::Kind::kMismatch);
  Record pending{false, "fp", 0, "", ""};
  EXPECT_EQ(Decide(*Decode(Encode(pending)), "fp").kind, Begin::Kind::kInProgress);
  EXPECT_EQ(Decide(pending, "other").kind, Begin::Kind::kMismatch);
}

TEST(Idempotency, AnswersThatChangedNothingAreNotKept) {
  for (int s : {200, 202, 400, 404, 409, 422}) EXPECT_TRUE(Keeps(s)) << s;
  for (int s : {429, 500, 503, 504}) EXPECT_FALSE(Keeps(s)) << s;
}

}  // namespace
}  // namespace lambda::idempotency

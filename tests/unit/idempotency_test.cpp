// Idempotent retries without servers: key rules, fingerprints, records and the decision.
#include "idempotency/idempotency.h"

#include <gtest/gtest.h>

#include "idempotency/compact.h"
#include "lambda/util/util.h"

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

/// A batch answer naming each of `ids` as the batch route writes it, `status` per item.
std::string BatchAnswer(const std::vector<std::string>& ids, const std::vector<int>& status) {
  std::string out = R"({"status":{"code":202,"short_description":"Batch processed"},"results":[)";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i != 0) out += ',';
    out += R"({"id":")" + ids[i] + R"(","status":)" + std::to_string(status[i]) +
           (status[i] == 202 ? R"(,"result":"accepted"})"
                             : R"(,"detail":"The specified lambda instance doesn't exist."})");
  }
  return out + "]}";
}

std::string BatchRequest(const std::vector<std::string>& ids) {
  std::string out = R"({"action":"start","ids":[)";
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? ",\"" : "\"") + ids[i] + "\"";
  return out + "]}";
}

TEST(IdempotencyCompact, ABatchAnswerIsKeptWithoutItsIdsAndComesBackByteForByte) {
  std::vector<std::string> ids;
  std::vector<int> alternating, accepted;
  for (int i = 0; i < 1000; ++i) {
    ids.push_back(util::NewUuid());
    alternating.push_back(i % 2 ? 202 : 404);
    accepted.push_back(202);
  }
  const std::string request = BatchRequest(ids);
  for (const auto* status : {&accepted, &alternating}) {
    const std::string answer = BatchAnswer(ids, *status);
    ASSERT_GT(answer.size(), 50000u);
    std::string kept = Compact(request, answer);
    EXPECT_EQ(Expand(request, kept), answer);
    // Every id is a reference: what is kept does not grow with the ids' length.
    EXPECT_LT(kept.size(), 16000u) << answer.size();
  }
  EXPECT_LT(Compact(request, BatchAnswer(ids, accepted)).size(), 300u);
}

TEST(IdempotencyCompact, AnyTextRoundTripsAndAForeignFormIsRefused) {
  for (const auto& [req, answer] : std::vector<std::pair<std::string, std::string>>{
           {"", ""},
           {"action=stop", R"({"a":"b"})"},
           {R"({"ids":["0123456789","0123456789"]})", R"(["0123456789","x\"0123456789",")"},
           {R"({"name":"esc\"aped-name"})", R"({"name":"esc\"aped-name","unterminated)"},
           {R"("unterminated-request)", R"("unterminated-request")"}}) {
    EXPECT_EQ(Expand(req, Compact(req, answer)), answer) << req << " | " << answer;
  }
  const std::string req = R"({"ids":["0123456789"]})";
  std::string kept = Compact(req, R"({"id":"0123456789"})");
  EXPECT_FALSE(Expand("{}", kept));  // another request: a reference it lacks
  EXPECT_FALSE(Expand(req, "not json"));
  EXPECT_FALSE(Expand(req, R"({"pieces":["a"],"runs":[[5,0,1]],"tail":0})"));
  EXPECT_FALSE(Expand(req, R"({"pieces":["a"],"runs":[[0,1,2]],"tail":0})"));  // past its strings
  EXPECT_FALSE(Expand(req, R"({"pieces":["a"],"runs":[],"tail":1})"));
}

TEST(IdempotencyCompact, RecordsStayUnderTheCapAndALargeOneKeepsItsDigestOnly) {
  std::vector<std::string> ids;
  std::vector<int> status;
  for (int i = 0; i < 1000; ++i) {
    ids.push_back(util::NewUuid());
    status.push_back(202);
  }
  const std::string request = BatchRequest(ids);
  http::Response answer;
  answer.status = 202;
  answer.content_type = "application/json";
  answer.body = BatchAnswer(ids, status);
  Record batch = Kept("fp", request, answer);
  EXPECT_EQ(batch.form, Record::Form::kCompact);
  EXPECT_LE(Encode(batch).size(), kMaxRecordBytes);
  auto back = Decode(Encode(batch));
  ASSERT_TRUE(back);
  EXPECT_EQ(Decide(back, "fp").kind, Begin::Kind::kReplay);
  EXPECT_EQ(AnswerBody(*back, request), answer.body);
  // A small answer is kept as it is.
  http::Response small = answer;
  small.body = R"({"id":"x"})";
  EXPECT_EQ(Kept("fp", request, small).form, Record::Form::kBody);
  // An answer of what the request did not name (e.g. a list) cannot be compacted: past the cap
  // only its status and digest are kept, and a repeat is told so (not acted on again).
  http::Response listing = answer;
  listing.body = BatchAnswer(ids, status);
  Record big = Kept("fp", "{}", listing);
  EXPECT_EQ(big.form, Record::Form::kDigest);
  EXPECT_EQ(big.body, util::Sha256Hex(listing.body));
  EXPECT_LE(Encode(big).size(), 1024u);
  auto held = Decode(Encode(big));
  ASSERT_TRUE(held);
  EXPECT_EQ(Decide(held, "fp").kind, Begin::Kind::kNotKept);
  EXPECT_EQ(held->status, 202);
  EXPECT_FALSE(AnswerBody(*held, "{}"));
}

}  // namespace
}  // namespace lambda::idempotency

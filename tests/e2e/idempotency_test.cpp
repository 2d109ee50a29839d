// End to end: SPEC §4.4 idempotent retries with `Idempotency-Key`, in the service API and the
// other dialects.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "lambda/redis/keys.h"
#include "lambda/util/util.h"
#include "support.h"

namespace lambda {
namespace {

using std::chrono::seconds;
using testing::CreateBody;
using testing::Http;
using testing::Json;
using testing::Stack;

class Idempotency : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack(Stack::Options{});
    key_ = stack_->NewKey("acme");
    other_key_ = stack_->NewKey("globex");
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  static testing::HttpResponse Create(const std::string& idem, const std::string& name,
                                      const std::string& key = key_) {
    return Http("POST", stack_->url() + "/api/lambda-instances/",
                {"X-API-Key: " + key, "Content-Type: application/json", "Idempotency-Key: " + idem},
                CreateBody(name));
  }
  static long long Live(const std::string& tenant) {
    return stack_->redis().Int({"ZCARD", redis::keys::TenantLive(stack_->redis_prefix(), tenant)});
  }
  static Stack* stack_;
  static std::string key_;
  static std::string other_key_;
};
Stack* Idempotency::stack_ = nullptr;
std::string Idempotency::key_;
std::string Idempotency::other_key_;

TEST_F(Idempotency, ARepeatedCreateIsAnsweredOnceAndMakesOneInstance) {
  long long before = Live("acme");
  auto first = Create("create-1", "once");
  ASSERT_EQ(first.status, 202) << first.body;
  EXPECT_TRUE(first.headers.count("idempotent-replayed") == 0);
  auto again = Create("create-1", "once");
  EXPECT_EQ(again.status, 202);
  EXPECT_EQ(again.body, first.body);  // the same id: the first answer, not a second create
  EXPECT_EQ(again.headers["idempotent-replayed"], "true");
  EXPECT_EQ(Live("acme"), before + 1);
  // Kept for 24 h in Redis, under the tenant.
  auto keys = stack_->redis().Array({"KEYS", stack_->redis_prefix() + "idem:{acme}:*"});
  ASSERT_FALSE(keys.empty());
  long long ttl = stack_->redis().Int({"PTTL", keys[0]});
  EXPECT_GT(ttl, 23LL * 3600 * 1000);
  EXPECT_LE(ttl, 24LL * 3600 * 1000);
}

TEST_F(Idempotency, TheSameKeyWithAnotherBodyIs422AndActsNot) {
  long long before = Live("acme");
  ASSERT_EQ(Create("create-2", "first").status, 202);
  auto other = Create("create-2", "second");
  EXPECT_EQ(other.status, 422) << other.body;
  EXPECT_NE(other.body.find("This Idempotency-Key was used with another request"),
            std::string::npos);
  EXPECT_EQ(Live("acme"), before + 1);
}

TEST_F(Idempotency, AnActionInTheQueryIsPartOfTheRequest) {
  auto created = Create("create-q", "query-action");
  ASSERT_EQ(created.status, 202) << created.body;
  const std::string id = Json(created.body)["data"][0]["id"].GetString();
  ASSERT_TRUE(stack_->WaitStatus(id, "STARTED", seconds(20)));
  auto act = [&](const std::string& action) {
    return Http("POST", stack_->url() + "/api/lambda-instances/" + id + "/?action=" + action,
                {"X-API-Key: " + key_, "Idempotency-Key: act-q"}, "");
  };
  auto stop = act("stop");
  ASSERT_EQ(stop.status, 202) << stop.body;
  ASSERT_TRUE(stack_->WaitStatus(id, "STOPPED", seconds(20)));
  auto start = act("start");  // same key, another action: not a replay of the stop
  EXPECT_EQ(start.status, 422) << start.body;
  EXPECT_TRUE(start.headers.count("idempotent-replayed") == 0);
  EXPECT_EQ(act("stop").headers["idempotent-replayed"], "true");  // the honest repeat
}

TEST_F(Idempotency, KeysArePerTenant) {
  long long acme = Live("acme"), globex = Live("globex");
  auto a = Create("shared-key", "mine");
  auto g = Create("shared-key", "mine", other_key_);
  ASSERT_EQ(a.status, 202);
  ASSERT_EQ(g.status, 202);
  EXPECT_NE(a.body, g.body);
  EXPECT_EQ(Live("acme"), acme + 1);
  EXPECT_EQ(Live("globex"), globex + 1);
}

TEST_F(Idempotency, ARepeatedActionReplaysItsFirstAnswerInEveryDialect) {
  auto ids = stack_->Seed(2, "STARTED", "acme");
  // Service API: the repeat is the first 202, not the 409 a second stop would get.
  std::vector<std::string> h{"X-API-Key: " + key_, "Idempotency-Key: stop-1"};
  auto stop =
      Http("POST", stack_->url() + "/api/lambda-instances/" + ids[0] + "/", h, "action=stop");
  ASSERT_EQ(stop.status, 202) << stop.body;
  auto repeat =
      Http("POST", stack_->url() + "/api/lambda-instances/" + ids[0] + "/", h, "action=stop");
  EXPECT_EQ(repeat.status, 202) << repeat.body;
  EXPECT_EQ(repeat.headers["idempotent-replayed"], "true");
  // Legacy /backend.
  std::vector<std::string> lh{"Authorization: Token " + key_, "Idempotency-Key: legacy-stop"};
  auto l1 = Http("POST", stack_->url() + "/backend/lambda-instances/" + ids[1] + "/stop", lh);
  ASSERT_EQ(l1.status, 202) << l1.body;
  auto l2 = Http("POST", stack_->url() + "/backend/lambda-instances/" + ids[1] + "/stop", lh);
  EXPECT_EQ(l2.status, 202) << l2.body;
  EXPECT_EQ(l2.body, l1.body);
  // The same key on another instance's path is another request: 422.
  auto moved = Http("POST", stack_->url() + "/backend/lambda-instances/" + ids[0] + "/stop", lh);
  EXPECT_EQ(moved.status, 422) << moved.body;
  EXPECT_NE(moved.body.find("\"code\":422"), std::string::npos) << moved.body;  // legacy shape
  for (const auto& id : ids) EXPECT_TRUE(stack_->WaitStatus(id, "STOPPED", seconds(20)));
}

TEST_F(Idempotency, ARepeatWhileTheFirstIsInFlightIs409) {
  auto ids = stack_->Seed(1, "STARTED", "acme");
  const std::string path = "/api/lambda-instances/" + ids[0] + "/";
  // The first request's claim, as the shim writes it while that request is being answered.
  std::string fp = util::Sha256Hex("POST " + path + "?\n\naction=stop");
  stack_->redis().Cmd(
      {"SET",
       redis::keys::IdempotencyRecord(stack_->redis_prefix(), "acme", util::Sha256Hex("in-flight")),
       R"({"state":"pending","fp":")" + fp + "\"}", "PX", "60000"});
  auto r = Http("POST", stack_->url() + path, {"X-API-Key: " + key_, "Idempotency-Key: in-flight"},
                "action=stop");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("still in progress"), std::string::npos) << r.body;
  EXPECT_EQ(stack_->StatusOf(ids[0]), "STARTED");  // it did not act
}

TEST_F(Idempotency, MalformedKeysAre400AndActNot) {
  long long before = Live("acme");
  for (const std::string& bad :
       {std::string(65, 'k'), std::string("two words"), std::string("kl\xc3\xbc")}) {
    auto r = Create(bad, "bad-key");
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
    EXPECT_NE(r.body.find("Idempotency-Key:"), std::string::npos) << r.body;
  }
  // Zenlayer answers in its own shape.
  auto z = Http("POST", stack_->url() + "/api/v2/vm",
                {"X-API-Key: " + key_, "X-ZC-Action: StartInstances",
                 "Idempotency-Key: " + std::string(65, 'z')},
                R"({"instanceIds":[]})");
  EXPECT_EQ(z.status, 400) << z.body;
  EXPECT_NE(z.body.find("INVALID_PARAMETER"), std::string::npos) << z.body;
  EXPECT_EQ(Live("acme"), before);
}

}  // namespace
}  // namespace lambda

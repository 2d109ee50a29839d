// End to end: SPEC §4.4 batches with per-item results, and atomic batches.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "lambda/redis/keys.h"
#include "support.h"

namespace lambda {
namespace {

using std::chrono::seconds;
using testing::Http;
using testing::Json;
using testing::Stack;

class Batch : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack(Stack::Options{});
    key_ = stack_->NewKey("acme");
    stack_->NewKey("globex");
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  static testing::HttpResponse Post(const std::string& body) {
    return Http("POST", stack_->url() + "/api/lambda-instances/actions/",
                {"X-API-Key: " + key_, "Content-Type: application/json"}, body);
  }
  static std::string Ids(const std::vector<std::string>& ids) {
    std::string out = "[";
    for (const auto& id : ids) out += (out.size() > 1 ? ",\"" : "\"") + id + "\"";
    return out + "]";
  }
  static Stack* stack_;
  static std::string key_;
};
Stack* Batch::stack_ = nullptr;
std::string Batch::key_;

TEST_F(Batch, EachIdIsAnsweredAsItWouldBeAloneAndDuplicatesOnce) {
  auto stopped = stack_->Seed(2, "STOPPED", "acme");
  auto started = stack_->Seed(1, "STARTED", "acme");
  auto foreign = stack_->Seed(1, "STOPPED", "globex");
  const std::string unknown = "9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c";
  auto r =
      Post(R"({"action":"start","ids":)" +
           Ids({stopped[0], stopped[1], stopped[0], started[0], unknown, "not-an-id", foreign[0]}) +
           "}");
  ASSERT_EQ(r.status, 202) << r.body;
  auto d = Json(r.body);
  EXPECT_EQ(d["accepted"].GetInt(), 2);
  EXPECT_EQ(d["refused"].GetInt(), 4);
  const auto& res = d["results"];
  ASSERT_EQ(res.Size(), 6u);  // the duplicate is answered once
  EXPECT_EQ(std::string(res[0]["id"].GetString()), stopped[0]);
  EXPECT_EQ(res[0]["status"].GetInt(), 202);
  EXPECT_STREQ(res[0]["result"].GetString(), "accepted");
  EXPECT_EQ(res[1]["status"].GetInt(), 202);
  EXPECT_EQ(res[2]["status"].GetInt(), 409);
  EXPECT_STREQ(res[2]["detail"].GetString(), "The specified lambda instance is already started.");
  for (int i : {3, 4, 5}) {
    EXPECT_EQ(res[i]["status"].GetInt(), 404) << i;
    EXPECT_STREQ(res[i]["detail"].GetString(), "The specified lambda instance doesn't exist.");
  }
  for (const auto& id : stopped) EXPECT_TRUE(stack_->WaitStatus(id, "STARTED", seconds(20)));
  EXPECT_EQ(stack_->StatusOf(foreign[0]), "STOPPED");
}

double MetricValue(const std::string& body, const std::string& series) {
  auto at = body.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(body.substr(at + series.size() + 2));
}

TEST_F(Batch, CommandsAdmittedTogetherTravelAsOneMessageAndEveryOneIsCarriedOut) {
  auto ids = stack_->Seed(20, "STOPPED", "acme");
  auto before = Http("GET", stack_->url() + "/metrics").body;
  auto r = Post(R"({"action":"start","ids":)" + Ids(ids) + "}");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(Json(r.body)["accepted"].GetInt(), 20);
  for (const auto& id : ids) EXPECT_TRUE(stack_->WaitStatus(id, "STARTED", seconds(20))) << id;
  auto after = Http("GET", stack_->url() + "/metrics").body;
  // The twenty commands were admitted in one script call, so they left in one message (the
  // worker acked it once all twenty were STARTED).
  EXPECT_EQ(MetricValue(after, "lambda_commands_sent_total") -
                MetricValue(before, "lambda_commands_sent_total"),
            20);
  EXPECT_EQ(MetricValue(after, "lambda_command_messages_total") -
                MetricValue(before, "lambda_command_messages_total"),
            1);
  for (const auto& id : ids) {
    auto ev = Http("GET", stack_->url() + "/api/lambda-instances/" + id + "/events/",
                   {"X-API-Key: " + key_});
    ASSERT_EQ(ev.status, 200);
    // Each was carried out once: STOPPED (seed), STARTING, STARTED.
    auto d = Json(ev.body);
    int started = 0;
    for (const auto& e : d["data"].GetArray()) {
      if (std::string(e["status"]["message"].GetString()) == "STARTED") ++started;
    }
    EXPECT_EQ(started, 1) << ev.body;
  }
}

TEST_F(Batch, AnAtomicBatchAdmitsAllOrNone) {
  auto stopped = stack_->Seed(3, "STOPPED", "acme");
  auto started = stack_->Seed(1, "STARTED", "acme");
  const std::string p = stack_->redis_prefix();
  auto gen_before = stack_->redis().Cmd({"HGET", redis::keys::Instance(p, stopped[0]), "gen"});
  auto refused = Post(R"({"action":"start","atomic":true,"ids":)" +
                      Ids({stopped[0], stopped[1], started[0]}) + "}");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find(started[0] + ": The specified lambda instance is already started."),
            std::string::npos)
      << refused.body;
  // Nothing changed: not even the ids before the refused one.
  EXPECT_EQ(stack_->StatusOf(stopped[0]), "STOPPED");
  EXPECT_EQ(stack_->redis().Cmd({"HGET", redis::keys::Instance(p, stopped[0]), "gen"}), gen_before);
  auto ok = Post(R"({"action":"start","atomic":true,"ids":)" + Ids(stopped) + "}");
  ASSERT_EQ(ok.status, 202) << ok.body;
  EXPECT_EQ(Json(ok.body)["accepted"].GetInt(), 3);
  for (const auto& id : stopped) EXPECT_TRUE(stack_->WaitStatus(id, "STARTED", seconds(20)));
}

TEST_F(Batch, BadBatchesAre400sAndChangeNothing) {
  auto stopped = stack_->Seed(1, "STOPPED", "acme");
  std::string many = "[";
  for (int i = 0; i < 1001; ++i) many += (i ? ",\"" : "\"") + stopped[0] + "\"";
  many += "]";
  struct Case {
    std::string body;
    std::string needle;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"action":"start","ids":[]})", "ids: at least one instance id is required"},
           {R"({"action":"start"})", "ids: at least one instance id is required"},
           {R"({"action":"start","ids":)" + many + "}", "ids: at most 1000 instance ids"},
           {R"({"action":"reboot","ids":["x"]})", "action: must be one of start, stop, destroy"},
           {R"({"ids":["x"]})", "action: required"},
           {R"({"action":"start","ids":[1]})", "ids: must be an array of instance ids"},
           {R"({"action":"start","ids":["x"],"atomic":"yes"})", "atomic: must be true or false"},
           {R"({"action":"start","ids":["x"],"force":true})", "unknown field 'force'"},
           {R"({"action":"start",)", "JSON"},
           {R"([1,2])", "the body must be a JSON object"},
       }) {
    auto r = Post(c.body);
    EXPECT_EQ(r.status, 400) << c.body.substr(0, 80) << " " << r.body;
    EXPECT_NE(r.body.find(c.needle), std::string::npos) << c.body.substr(0, 80) << " " << r.body;
  }
  EXPECT_EQ(stack_->StatusOf(stopped[0]), "STOPPED");
}

}  // namespace
}  // namespace lambda

// End to end over HTTP: every SPEC §4.1 route, body shape and error text, tenant isolation,
// against the real api-shim and workers on real Redis and RabbitMQ.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "lambda/redis/keys.h"
#include "support.h"

namespace lambda {
namespace {

using testing::CreateBody;
using testing::Http;
using testing::Stack;

using testing::Json;

constexpr const char* kUnauthorized =
    R"({"errors":[{"status":401,"detail":"Unauthorized. Request failed because user provided an invalid token."}]})";
constexpr const char* kNotFound =
    R"({"errors":[{"status":404,"detail":"The specified lambda instance doesn't exist."}]})";

class ServiceApi : public ::testing::Test {
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
  static std::string Api(const std::string& path) {
    return stack_->url() + "/api/lambda-instances/" + path;
  }
  static std::vector<std::string> Auth(const std::string& key = key_) {
    return {"Authorization: Token " + key};
  }

  /// Creates an instance and waits until it is STARTED.
  static std::string CreateStarted(const std::string& name, const std::string& key = key_,
                                   const std::string& extra = "") {
    auto r =
        Http("POST", Api(""), {"Authorization: Token " + key, "Content-Type: application/json"},
             CreateBody(name, extra));
    EXPECT_EQ(r.status, 202) << r.body;
    auto d = Json(r.body);
    std::string id = d["data"][0]["id"].GetString();
    EXPECT_TRUE(stack_->WaitStatus(id, "STARTED", std::chrono::seconds(20)))
        << stack_->StatusOf(id);
    return id;
  }

  static Stack* stack_;
  static std::string key_;
  static std::string other_key_;
};
Stack* ServiceApi::stack_ = nullptr;
std::string ServiceApi::key_;
std::string ServiceApi::other_key_;

TEST_F(ServiceApi, EveryKeyHeaderFormAuthenticates) {
  for (const std::string& h : {"Authorization: Token " + key_, "Authorization: Bearer " + key_,
                               "Authentication: Token " + key_, "X-API-Key: " + key_}) {
    auto r = Http("GET", stack_->url() + "/api/authenticate/", {h});
    EXPECT_EQ(r.status, 200) << h;
    EXPECT_EQ(r.body, R"({"result":"success"})");
  }
  for (const std::string& h : {std::string("Authorization: Token nope"), std::string("X-API-Key: "),
                               std::string("Authorization: Basic " + key_)}) {
    auto r = Http("GET", stack_->url() + "/api/authenticate", {h});
    EXPECT_EQ(r.status, 401) << h;
    EXPECT_EQ(r.body, kUnauthorized);
  }
  // The key is checked before any lookup: a bad key on a missing instance is still 401.
  auto r = Http("GET", Api("9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c/"), {"X-API-Key: wrong"});
  EXPECT_EQ(r.status, 401);
}

TEST_F(ServiceApi, CreateRunsTheWholeLifecycleAndRecordsHistory) {
  auto r = Http("POST", stack_->url() + "/api/lambda-instance/", Auth(), CreateBody("lifecycle"));
  ASSERT_EQ(r.status, 202) << r.body;
  auto d = Json(r.body);
  EXPECT_STREQ(d["status"]["short_description"].GetString(),
               "Your request to create a new lambda instance has been accepted");
  std::string id = d["data"][0]["id"].GetString();
  EXPECT_EQ(std::string(d["data"][0]["links"]["self"].GetString())
                    .find("/api/lambda-instances/" + id + "/") != std::string::npos,
            true);
  EXPECT_FALSE(r.headers["x-request-id"].empty());
  // It exists (PENDING or later) as soon as the 202 is sent.
  EXPECT_FALSE(stack_->StatusOf(id).empty());
  ASSERT_TRUE(stack_->WaitStatus(id, "STARTED", std::chrono::seconds(20)));
  std::vector<std::string> expected{"PENDING",           "CLUSTER_CREATED",  "INIT_DONE",
                                    "COMMONS_INSTALLED", "HADOOP_INSTALLED", "KAFKA_INSTALLED",
                                    "FLINK_INSTALLED",   "STARTED"};
  EXPECT_EQ(stack_->History(id), expected);
  auto details = Http("GET", Api(id + "/"), Auth());
  ASSERT_EQ(details.status, 200);
  auto dd = Json(details.body);
  const auto& data = dd["data"][0];
  EXPECT_STREQ(dd["status"]["short_description"].GetString(), "Lambda instance details");
  EXPECT_STREQ(data["status"]["message"].GetString(), "STARTED");
  EXPECT_STREQ(data["status"]["code"].GetString(), "0");
  EXPECT_STREQ(data["status"]["detail"].GetString(), "Lambda instance has been started");
  EXPECT_STREQ(data["info"]["instance_info"]["instance_name"].GetString(), "lifecycle");
  ASSERT_EQ(data["servers"].Size(), 3u);  // master + 2 slaves
  EXPECT_STREQ(data["servers"][0]["role"].GetString(), "master");
  EXPECT_STREQ(data["info"]["instance_info"]["master_node_id"].GetString(),
               data["servers"][0]["id"].GetString());
}

TEST_F(ServiceApi, StartStopDestroyWithEveryBodyEncoding) {
  std::string id = CreateStarted("actions", key_, R"("simulate":{"step_ms":100})");
  // multipart/form-data, as `curl -F action=stop` sends it
  auto stop = Http("POST", Api(id + "/"), Auth(), "stop", /*multipart=*/true);
  ASSERT_EQ(stop.status, 202) << stop.body;
  EXPECT_EQ(stop.body,
            R"({"status":{"code":202,"short-description":"Your request has been accepted"}})");
  ASSERT_TRUE(stack_->WaitStatus(id, "STOPPED", std::chrono::seconds(20)));
  auto again = Http("POST", Api(id), Auth(), "action=stop");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(
      again.body,
      R"({"errors":[{"status":409,"detail":"The specified lambda instance is already stopped."}]})");
  // urlencoded; the instance is slow (simulate.step_ms), so it is surely STARTING just after the
  // 202
  auto start = Http("POST", Api(id + "/"),
                    {Auth()[0], "Content-Type: application/x-www-form-urlencoded"}, "action=start");
  ASSERT_EQ(start.status, 202);
  EXPECT_EQ(stack_->StatusOf(id), "STARTING");
  auto busy = Http("POST", Api(id + "/"), Auth(), "action=stop");
  EXPECT_EQ(busy.status, 409);
  EXPECT_EQ(
      busy.body,
      R"({"errors":[{"status":409,"detail":"Can't stop a lambda instance while lambda instance status is STARTING."}]})");
  ASSERT_TRUE(stack_->WaitStatus(id, "STARTED", std::chrono::seconds(20)));
  auto already =
      Http("POST", Api(id), {Auth()[0], "Content-Type: application/json"}, R"({"action":"start"})");
  EXPECT_EQ(already.status, 409);
  EXPECT_EQ(
      already.body,
      R"({"errors":[{"status":409,"detail":"The specified lambda instance is already started."}]})");
  // JSON body
  ASSERT_EQ(
      Http("POST", Api(id), {Auth()[0], "Content-Type: application/json"}, R"({"action":"stop"})")
          .status,
      202);
  ASSERT_TRUE(stack_->WaitStatus(id, "STOPPED", std::chrono::seconds(20)));
  auto destroy = Http("DELETE", Api(id + "/"), Auth());
  ASSERT_EQ(destroy.status, 202);
  EXPECT_EQ(
      destroy.body,
      R"({"status":{"code":202,"short-description":"Your request to destroy the specified lambda instance has been accepted"}})");
  ASSERT_TRUE(stack_->WaitStatus(id, "DESTROYED", std::chrono::seconds(20)));
  auto twice = Http("DELETE", Api(id), Auth());
  EXPECT_EQ(twice.status, 409);
  EXPECT_EQ(
      twice.body,
      R"({"errors":[{"status":409,"detail":"The specified lambda instance is already destroyed."}]})");
  auto start_destroyed = Http("POST", Api(id), Auth(), "action=start");
  EXPECT_EQ(
      start_destroyed.body,
      R"({"errors":[{"status":409,"detail":"Can't start a lambda instance while lambda instance status is DESTROYED."}]})");
  auto dd = Json(Http("GET", Api(id + "/"), Auth()).body);
  for (const auto& s : dd["data"][0]["servers"].GetArray())
    EXPECT_STREQ(s["status"].GetString(), "DELETED");
}

TEST_F(ServiceApi, BadActionsAndFiltersAreClear400s) {
  std::string id = CreateStarted("bad-input");
  for (std::string body : {"action=reboot", "", "nothing=1"}) {
    auto r = Http("POST", Api(id + "/"), Auth(), body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(
        r.body,
        R"({"errors":[{"status":400,"detail":"action POST parameter can be used with start or stop value."}]})");
  }
  auto f = Http("GET", Api(id + "/?filter=everything"), Auth());
  EXPECT_EQ(f.status, 400);
  EXPECT_EQ(
      f.body,
      R"({"errors":[{"status":400,"detail":"filter GET parameter can be used with values status or info."}]})");
  auto st = Json(Http("GET", Api(id + "/?filter=status"), Auth()).body);
  EXPECT_FALSE(st["data"][0].HasMember("info"));
  EXPECT_STREQ(st["data"][0]["status"]["message"].GetString(), "STARTED");
  auto info = Json(Http("GET", Api(id + "/?filter=info"), Auth()).body);
  EXPECT_FALSE(info["data"][0].HasMember("status"));
  auto status_route = Json(Http("GET", Api(id + "/status/"), Auth()).body);
  EXPECT_STREQ(status_route["data"][0]["status"]["message"].GetString(), "STARTED");
  EXPECT_EQ(stack_->StatusOf(id), "STARTED");  // nothing changed
}

TEST_F(ServiceApi, CreateValidationNamesEveryProblemAndChangesNothing) {
  long long before =
      stack_->redis().Int({"ZCARD", redis::keys::TenantIds(stack_->redis_prefix(), "acme")});
  auto r = Http("POST", Api(""), Auth(), R"({"instance_name":"x","slaves":99})");
  EXPECT_EQ(r.status, 400);
  auto d = Json(r.body);
  ASSERT_TRUE(d["errors"][0]["detail"].IsArray());
  EXPECT_EQ(d["errors"][0]["status"].GetInt(), 400);
  auto bad_json = Http("POST", Api(""), Auth(), "{not json");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_NE(bad_json.body.find("invalid JSON"), std::string::npos);
  auto unknown = Http("POST", Api(""), Auth(), CreateBody("u", R"("colour":"red")"));
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("colour: unknown field"), std::string::npos);
  auto range = Http("POST", Api(""), Auth(), CreateBody("r", R"("simulate":{"fail_at":"NOPE"})"));
  EXPECT_EQ(range.status, 400);
  EXPECT_EQ(stack_->redis().Int({"ZCARD", redis::keys::TenantIds(stack_->redis_prefix(), "acme")}),
            before);
}

TEST_F(ServiceApi, FailedBuildStepEndsInItsFailedStatus) {
  auto r = Http("POST", Api(""), Auth(),
                CreateBody("kafka-breaks", R"("simulate":{"fail_at":"KAFKA","step_ms":1})"));
  ASSERT_EQ(r.status, 202);
  std::string id = Json(r.body)["data"][0]["id"].GetString();
  ASSERT_TRUE(stack_->WaitStatus(id, "KAFKA_FAILED", std::chrono::seconds(20)));
  auto d = Json(Http("GET", Api(id + "/status"), Auth()).body);
  EXPECT_STREQ(d["data"][0]["status"]["code"].GetString(), "19");
  EXPECT_NE(std::string(d["data"][0]["status"]["failure_message"].GetString()).find("KAFKA"),
            std::string::npos);
  // A *_FAILED instance is settled: it can be destroyed, not started.
  EXPECT_EQ(Http("POST", Api(id), Auth(), "action=start").status, 409);
  ASSERT_EQ(Http("DELETE", Api(id), Auth()).status, 202);
  ASSERT_TRUE(stack_->WaitStatus(id, "DESTROYED", std::chrono::seconds(20)));
}

TEST_F(ServiceApi, FailedStartEndsInFailedAndCanBeStopped) {
  auto r = Http("POST", Api(""), Auth(),
                CreateBody("start-breaks", R"("simulate":{"fail_at":"START","step_ms":1})"));
  std::string id = Json(r.body)["data"][0]["id"].GetString();
  ASSERT_TRUE(stack_->WaitStatus(id, "STARTED", std::chrono::seconds(20)));
  ASSERT_EQ(Http("POST", Api(id), Auth(), "action=stop").status, 202);
  ASSERT_TRUE(stack_->WaitStatus(id, "STOPPED", std::chrono::seconds(20)));
  ASSERT_EQ(Http("POST", Api(id), Auth(), "action=start").status, 202);
  ASSERT_TRUE(stack_->WaitStatus(id, "FAILED", std::chrono::seconds(20)));
  auto d = Json(Http("GET", Api(id + "/status/"), Auth()).body);
  EXPECT_NE(std::string(d["data"][0]["status"]["failure_message"].GetString()).find("START"),
            std::string::npos);
  ASSERT_EQ(Http("POST", Api(id), Auth(), "action=stop").status, 202);  // FAILED → stop is allowed
  ASSERT_TRUE(stack_->WaitStatus(id, "STOPPED", std::chrono::seconds(20)));
}

TEST_F(ServiceApi, ListPaginatesAndCountSkipsDestroyed) {
  std::string key = stack_->NewKey("lister");
  auto ids = stack_->Seed(5, "STOPPED", "lister");
  auto destroyed = stack_->Seed(1, "DESTROYED", "lister");
  ASSERT_EQ(ids.size(), 5u);
  auto all = Json(Http("GET", Api(""), Auth(key)).body);
  EXPECT_STREQ(all["status"]["short_description"].GetString(), "Lambda instances");
  ASSERT_EQ(all["data"].Size(), 6u);  // destroyed ones included, creation order
  EXPECT_STREQ(all["data"][0]["id"].GetString(), ids[0].c_str());
  EXPECT_STREQ(all["data"][5]["status"]["message"].GetString(), "DESTROYED");
  EXPECT_FALSE(all.HasMember("pagination"));
  auto page = Json(Http("GET", Api("?limit=2&offset=2"), Auth(key)).body);
  ASSERT_EQ(page["data"].Size(), 2u);
  EXPECT_STREQ(page["data"][0]["id"].GetString(), ids[2].c_str());
  EXPECT_EQ(page["pagination"]["count"].GetInt(), 6);
  EXPECT_NE(std::string(page["pagination"]["next"].GetString()).find("limit=2&offset=4"),
            std::string::npos);
  EXPECT_NE(std::string(page["pagination"]["previous"].GetString()).find("limit=2&offset=0"),
            std::string::npos);
  auto first = Json(Http("GET", Api("?limit=10"), Auth(key)).body);
  EXPECT_TRUE(first["pagination"]["next"].IsNull());
  EXPECT_TRUE(first["pagination"]["previous"].IsNull());
  auto ignored =
      Json(Http("GET", Api("?offset=3"), Auth(key)).body);  // offset without limit: ignored
  EXPECT_EQ(ignored["data"].Size(), 6u);
  for (std::string bad : {"?limit=-1", "?limit=abc", "?limit=1.5"}) {
    auto r = Http("GET", Api(bad), Auth(key));
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(
        r.body,
        R"({"errors":[{"status":400,"detail":"limit value should be an integer greater or equal to zero."}]})");
  }
  auto count = Http("GET", Api("count/"), Auth(key));
  EXPECT_EQ(
      count.body,
      R"({"status":{"code":200,"short_description":"Number of Lambda Instances"},"data":[{"count":5}]})");
}

TEST_F(ServiceApi, AnotherTenantsInstanceIsExactlyLikeAMissingOne) {
  std::string id = CreateStarted("private");
  auto missing = Http("GET", Api("9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c/"), Auth(other_key_));
  for (const auto& r : {Http("GET", Api(id + "/"), Auth(other_key_)),
                        Http("GET", Api(id + "/status/"), Auth(other_key_)),
                        Http("POST", Api(id + "/"), Auth(other_key_), "action=stop"),
                        Http("DELETE", Api(id), Auth(other_key_)), missing,
                        Http("GET", Api("not-a-uuid/"), Auth())}) {
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, kNotFound);
  }
  EXPECT_EQ(stack_->StatusOf(id), "STARTED");
  auto list = Json(Http("GET", Api(""), Auth(other_key_)).body);
  for (const auto& row : list["data"].GetArray()) EXPECT_STRNE(row["id"].GetString(), id.c_str());
}

TEST_F(ServiceApi, RoutingErrorsHealthAndMetrics) {
  auto unknown = Http("GET", stack_->url() + "/api/nothing-here/", Auth());
  EXPECT_EQ(unknown.status, 404);
  auto method = Http("PUT", Api(""), Auth());
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(method.headers["allow"], "POST, GET, HEAD, OPTIONS");
  EXPECT_EQ(Http("GET", stack_->url() + "/healthz").status, 200);
  auto ready = Http("GET", stack_->url() + "/readyz/");
  EXPECT_EQ(ready.body, R"({"status":"ready","redis":true,"rabbitmq":true})");
  auto metrics = Http("GET", stack_->url() + "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("lambda_publishes_confirmed_total"), std::string::npos);
  auto req_id =
      Http("GET", stack_->url() + "/api/authenticate/", {Auth()[0], "X-Request-Id: trace-me-1"});
  EXPECT_EQ(req_id.headers["x-request-id"], "trace-me-1");
}

TEST_F(ServiceApi, RevokedKeyStopsWorking) {
  std::string key = stack_->NewKey("revoker");
  EXPECT_EQ(Http("GET", stack_->url() + "/api/authenticate/", Auth(key)).status, 200);
  std::string cmd = testing::EnvOr("LAMBDA_CTL_BIN") + " --redis-url " +
                    testing::EnvOr("LAMBDA_TEST_REDIS_URL") + " --redis-prefix " +
                    stack_->redis_prefix() + " apikey revoke " + key + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(Http("GET", stack_->url() + "/api/authenticate/", Auth(key)).status, 401);
  // Keys are stored only as a hash.
  auto keys = stack_->redis().Array({"KEYS", stack_->redis_prefix() + "k:*"});
  for (const auto& k : keys) EXPECT_EQ(k.find(key), std::string::npos);
}

}  // namespace
}  // namespace lambda

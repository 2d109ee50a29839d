// End to end over HTTP for SPEC §4.2 (legacy /backend) and §4.3 (Zenlayer, Feldera), and the
// served OpenAPI document, against the real binaries on real Redis and RabbitMQ.
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

class Dialects : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack(Stack::Options{2, {}, {"--lease-ms", "5000", "--log-level", "debug"}});
    key_ = stack_->NewKey("dialects");
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  static std::vector<std::string> Auth() { return {"Authentication: Token " + key_}; }
  static std::string Url(const std::string& path) { return stack_->url() + path; }
  static std::string Gen(const std::string& id) {
    return stack_->redis().Cmd({"HGET", redis::keys::Instance(stack_->redis_prefix(), id), "gen"});
  }
  static testing::HttpResponse Zen(const std::string& action, const std::string& body) {
    return Http("POST", Url("/api/v2/vm"),
                {"X-API-Key: " + key_, "X-ZC-Action: " + action, "Content-Type: application/json"},
                body);
  }
  static std::string CreateSlow(const std::string& name, int step_ms) {
    auto r = Http("POST", Url("/api/lambda-instances/"), {"X-API-Key: " + key_},
                  CreateBody(name, R"("simulate":{"step_ms":)" + std::to_string(step_ms) + "}"));
    EXPECT_EQ(r.status, 202);
    return Json(r.body)["data"][0]["id"].GetString();
  }

  static Stack* stack_;
  static std::string key_;
};
Stack* Dialects::stack_ = nullptr;
std::string Dialects::key_;

TEST_F(Dialects, LegacyLifecycleAndShapes) {
  EXPECT_EQ(Http("GET", Url("/backend/authenticate/"), Auth()).body, R"({"result":"success"})");
  auto unauth = Http("GET", Url("/backend/authenticate/"), {"Authentication: Token nope"});
  EXPECT_EQ(unauth.status, 401);
  EXPECT_EQ(unauth.body,
            R"({"errors":[{"message":"Invalid token","code":401,"details":"unauthorized"}]})");
  auto created = Http("POST", Url("/backend/create_lambda_instance/"), Auth(),
                      CreateBody("Lambda Instance 2"));
  ASSERT_EQ(created.status, 202) << created.body;
  std::string id = Json(created.body)["uuid"].GetString();
  ASSERT_TRUE(stack_->WaitStatus(id, "STARTED", std::chrono::seconds(20)));
  auto status = Json(Http("GET", Url("/backend/lambda-instances/" + id + "/status/"), Auth()).body);
  EXPECT_STREQ(status["data"]["status"].GetString(), "STARTED");
  EXPECT_STREQ(status["data"]["name"].GetString(), "Lambda Instance 2");
  EXPECT_STREQ(status["data"]["uuid"].GetString(), id.c_str());
  int64_t seq = status["data"]["id"].GetInt64();
  // The seed documents address an instance by its integer id too.
  auto by_seq =
      Json(Http("GET", Url("/backend/lambda-instances/" + std::to_string(seq) + "/"), Auth()).body);
  EXPECT_STREQ(by_seq["data"]["uuid"].GetString(), id.c_str());
  EXPECT_TRUE(by_seq["data"]["instance_info"].IsObject());
  auto stop =
      Http("POST", Url("/backend/lambda-instances/" + std::to_string(seq) + "/stop/"), Auth());
  EXPECT_EQ(stop.status, 202);
  EXPECT_EQ(stop.body, R"({"result":"Success"})");
  ASSERT_TRUE(stack_->WaitStatus(id, "STOPPED", std::chrono::seconds(20)));
  auto again = Http("POST", Url("/backend/lambda-instances/" + id + "/stop/"), Auth());
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(
      again.body,
      R"({"errors":[{"message":"The specified lambda instance is already stopped.","code":409,"details":"conflict"}]})");
  EXPECT_EQ(Http("POST", Url("/backend/lambda-instances/" + id + "/start/"), Auth()).status, 202);
  ASSERT_TRUE(stack_->WaitStatus(id, "STARTED", std::chrono::seconds(20)));
  EXPECT_EQ(Http("POST", Url("/backend/lambda-instances/" + id + "/destroy/"), Auth()).status, 202);
  ASSERT_TRUE(stack_->WaitStatus(id, "DESTROYED", std::chrono::seconds(20)));
  auto gone = Http("DELETE", Url("/backend/lambda-instances/" + id + "/"), Auth());
  EXPECT_EQ(gone.status, 409);
  auto missing = Http("GET", Url("/backend/lambda-instances/999999/status/"), Auth());
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(
      missing.body,
      R"({"errors":[{"message":"The specified lambda instance doesn't exist.","code":404,"details":"not found"}]})");
  auto invalid =
      Http("POST", Url("/backend/create_lambda_instance/"), Auth(), R"({"instance_name":""})");
  EXPECT_EQ(invalid.status, 400);
  EXPECT_NE(invalid.body.find("\"details\":\"bad request\""), std::string::npos);
}

TEST_F(Dialects, LegacyDeleteRouteAndListParameters) {
  std::string key = stack_->NewKey("legacylist");
  auto ids = stack_->Seed(5, "STOPPED", "legacylist");
  std::vector<std::string> auth{"Authorization: Token " + key};
  EXPECT_EQ(Json(Http("GET", Url("/backend/lambda-instances/"), auth).body)["data"].Size(), 5u);
  auto page = Json(Http("GET", Url("/backend/lambda-instances/?limit=2&page=2"), auth).body);
  ASSERT_EQ(page["data"].Size(), 2u);
  EXPECT_STREQ(page["data"][0]["uuid"].GetString(), ids[2].c_str());
  EXPECT_TRUE(page["data"][0]["id"].IsInt64());
  auto err = [&](const std::string& q) -> std::string {
    return Json(Http("GET", Url("/backend/lambda-instances/" + q), auth)
                    .body)["errors"][0]["message"]
        .GetString();
  };
  EXPECT_EQ(err("?limit=2"), "Missing parameter");
  EXPECT_EQ(err("?page=1"), "Missing parameter");
  EXPECT_EQ(err("?limit=a&page=1"), "Bad parameter");
  EXPECT_EQ(err("?limit=0&page=1"), "Zero or negative indexing not supported");
  EXPECT_EQ(err("?limit=2&page=-1"), "Zero or negative indexing not supported");
  auto del = Http("DELETE", Url("/backend/lambda-instances/" + ids[0] + "/"), auth);
  EXPECT_EQ(del.status, 202);
  EXPECT_EQ(del.body, R"({"result":"Success"})");
  EXPECT_TRUE(stack_->WaitStatus(ids[0], "DESTROYED", std::chrono::seconds(20)));
}

TEST_F(Dialects, ZenlayerBatchIsAllOrNothing) {
  std::string key = key_;
  auto stopped = stack_->Seed(3, "STOPPED", "dialects");
  auto started = stack_->Seed(1, "STARTED", "dialects");
  std::string gen0 = Gen(stopped[0]);
  // One STARTED instance in the batch: refused as a whole, nothing changes.
  auto refused =
      Zen("StartInstances", R"({"instanceIds":[")" + stopped[0] + R"(",")" + started[0] + R"("]})");
  EXPECT_EQ(refused.status, 403);
  auto rd = Json(refused.body);
  EXPECT_STREQ(rd["code"].GetString(), "OPERATION_DENIED_INSTANCE_NOT_STOPPED");
  EXPECT_TRUE(rd.HasMember("requestId"));
  EXPECT_EQ(stack_->StatusOf(stopped[0]), "STOPPED");
  EXPECT_EQ(Gen(stopped[0]), gen0);
  // An unknown id: 404, nothing changes.
  auto unknown = Zen("StartInstances", R"({"instanceIds":[")" + stopped[0] +
                                           R"(","9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c"]})");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_STREQ(Json(unknown.body)["code"].GetString(), "INVALID_INSTANCE_NOT_FOUND");
  EXPECT_EQ(Gen(stopped[0]), gen0);
  // All STOPPED: all start.
  auto ok =
      Zen("StartInstances", R"({"instanceIds":[")" + stopped[0] + R"(",")" + stopped[1] + R"("]})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto od = Json(ok.body);
  EXPECT_STREQ(od["requestId"].GetString(), od["response"]["requestId"].GetString());
  EXPECT_TRUE(stack_->WaitStatus(stopped[0], "STARTED", std::chrono::seconds(20)));
  EXPECT_TRUE(stack_->WaitStatus(stopped[1], "STARTED", std::chrono::seconds(20)));
  auto not_running = Zen("StopInstances", R"({"instanceIds":[")" + stopped[2] + R"("]})");
  EXPECT_EQ(not_running.status, 403);
  EXPECT_STREQ(Json(not_running.body)["code"].GetString(), "OPERATION_DENIED_INSTANCE_NOT_RUNNING");
  ASSERT_EQ(Zen("StopInstances", R"({"instanceIds":[")" + stopped[0] + R"("]})").status, 200);
  EXPECT_TRUE(stack_->WaitStatus(stopped[0], "STOPPED", std::chrono::seconds(20)));
}

TEST_F(Dialects, ZenlayerDescribeAndBadInput) {
  std::string key = stack_->NewKey("zen2");
  auto ids = stack_->Seed(3, "STOPPED", "zen2");
  auto destroyed = stack_->Seed(1, "DESTROYED", "zen2");
  auto describe = [&](const std::string& body) {
    return Http("POST", Url("/api/v2/vm"),
                {"X-API-Key: " + key, "X-ZC-Action: DescribeInstancesStatus"}, body);
  };
  auto all = Json(describe("").body);
  EXPECT_EQ(all["response"]["totalCount"].GetInt(), 3);  // destroyed ones are not found
  EXPECT_STREQ(all["response"]["dataSet"][0]["instanceStatus"].GetString(), "STOPPED");
  auto page = Json(describe(R"({"pageSize":2,"pageNum":2})").body);
  ASSERT_EQ(page["response"]["dataSet"].Size(), 1u);
  EXPECT_STREQ(page["response"]["dataSet"][0]["instanceId"].GetString(), ids[2].c_str());
  auto some =
      Json(describe(R"({"instanceIds":[")" + ids[1] + R"(",")" + destroyed[0] + R"("]})").body);
  EXPECT_EQ(some["response"]["totalCount"].GetInt(), 1);
  auto bad = [&](const std::string& action, const std::string& body) {
    auto r = Http("POST", Url("/api/v2/vm"), {"X-API-Key: " + key, "X-ZC-Action: " + action}, body);
    EXPECT_EQ(r.status, 400) << action << " " << body;
    EXPECT_STREQ(Json(r.body)["code"].GetString(), "INVALID_PARAMETER");
  };
  bad("RebootInstances", R"({"instanceIds":["x"]})");
  bad("StartInstances", R"({"instanceIds":[]})");
  bad("StartInstances", R"({"instanceIds":"x"})");
  bad("StartInstances", "[1]");
  std::string many = R"({"instanceIds":[)";
  for (int i = 0; i < 101; ++i) many += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  bad("StartInstances", many + "]}");
  bad("DescribeInstancesStatus", R"({"pageSize":1001})");
  EXPECT_EQ(Http("POST", Url("/api/v2/vm"), {"X-ZC-Action: StartInstances"}, "{}").status, 401);
}

TEST_F(Dialects, FelderaStartIsIdempotentAndStartWhileStoppingIsIllegal) {
  std::string id = CreateSlow("pipeline", 150);
  ASSERT_TRUE(stack_->WaitStatus(id, "STARTED", std::chrono::seconds(30)));
  auto running =
      Json(Http("GET", Url("/v0/pipelines/" + id), {"Authorization: Bearer " + key_}).body);
  EXPECT_STREQ(running["deployment_status"].GetString(), "Running");
  EXPECT_STREQ(running["deployment_desired_status"].GetString(), "Running");
  EXPECT_EQ(
      Http("POST", Url("/v0/pipelines/" + id + "/start"), {"Authorization: Bearer " + key_}).status,
      202);
  ASSERT_EQ(
      Http("POST", Url("/v0/pipelines/" + id + "/stop"), {"Authorization: Bearer " + key_}).status,
      202);
  EXPECT_EQ(stack_->StatusOf(id), "STOPPING");
  auto illegal = Http("POST", Url("/v0/pipelines/" + id + "/start?initial=running"),
                      {"Authorization: Bearer " + key_});
  EXPECT_EQ(illegal.status, 400);
  auto d = Json(illegal.body);
  EXPECT_STREQ(d["error_code"].GetString(), "IllegalPipelineAction");
  EXPECT_STREQ(d["details"]["status"].GetString(), "Stopping");
  EXPECT_STREQ(d["details"]["current_desired_status"].GetString(), "Stopped");
  EXPECT_STREQ(d["details"]["new_desired_status"].GetString(), "Running");
  EXPECT_NE(std::string(d["details"]["hint"].GetString()).find("while it is stopping"),
            std::string::npos);
  EXPECT_EQ(
      Http("POST", Url("/v0/pipelines/" + id + "/stop"), {"Authorization: Bearer " + key_}).status,
      202);  // becoming
  ASSERT_TRUE(stack_->WaitStatus(id, "STOPPED", std::chrono::seconds(30)));
  EXPECT_EQ(
      Http("POST", Url("/v0/pipelines/" + id + "/stop"), {"Authorization: Bearer " + key_}).status,
      202);  // already
  auto unsupported = Http("POST", Url("/v0/pipelines/" + id + "/start?initial=sprinting"),
                          {"Authorization: Bearer " + key_});
  EXPECT_EQ(unsupported.status, 405);
  EXPECT_STREQ(Json(unsupported.body)["error_code"].GetString(), "UnsupportedPipelineAction");
  auto unknown = Http("GET", Url("/v0/pipelines/nope"), {"Authorization: Bearer " + key_});
  EXPECT_EQ(unknown.status, 404);
  EXPECT_STREQ(Json(unknown.body)["error_code"].GetString(), "UnknownPipelineName");
  EXPECT_EQ(Http("POST", Url("/v0/pipelines/9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c/stop"),
                 {"Authorization: Bearer " + key_})
                .status,
            404);
}

TEST_F(Dialects, FelderaPausedStartsVmsButNotServices) {
  auto ids = stack_->Seed(1, "STOPPED", "dialects");
  ASSERT_EQ(Http("POST", Url("/v0/pipelines/" + ids[0] + "/start?initial=paused"),
                 {"Authorization: Bearer " + key_})
                .status,
            202);
  ASSERT_TRUE(stack_->WaitStatus(ids[0], "STARTED", std::chrono::seconds(20)));
  auto p =
      Json(Http("GET", Url("/v0/pipelines/" + ids[0]), {"Authorization: Bearer " + key_}).body);
  EXPECT_STREQ(p["deployment_status"].GetString(), "Paused");
  EXPECT_STREQ(p["deployment_desired_status"].GetString(), "Paused");
  // The worker ran the start plan without its services step.
  std::string log = stack_->worker(0).Log() + stack_->worker(1).Log();
  std::string vms = "\"instance_id\":\"" + ids[0] + "\",\"step\":\"start_vms\"";
  std::string services = "\"instance_id\":\"" + ids[0] + "\",\"step\":\"start_services\"";
  EXPECT_NE(log.find(vms), std::string::npos);
  EXPECT_EQ(log.find(services), std::string::npos);
}

TEST_F(Dialects, FelderaStopSupersedesASlowStartAndASlowCreate) {
  std::string id = CreateSlow("superseded", 40);
  ASSERT_TRUE(stack_->WaitStatus(id, "STARTED", std::chrono::seconds(30)));
  ASSERT_EQ(
      Http("POST", Url("/api/lambda-instances/" + id + "/"), {"X-API-Key: " + key_}, "action=stop")
          .status,
      202);
  ASSERT_TRUE(stack_->WaitStatus(id, "STOPPED", std::chrono::seconds(30)));
  // Make the next start slow: each VM operation takes 40 ms x 3 VMs, plus the services.
  ASSERT_EQ(
      Http("POST", Url("/v0/pipelines/" + id + "/start"), {"Authorization: Bearer " + key_}).status,
      202);
  ASSERT_EQ(stack_->StatusOf(id), "STARTING");
  ASSERT_EQ(
      Http("POST", Url("/v0/pipelines/" + id + "/stop"), {"Authorization: Bearer " + key_}).status,
      202);
  EXPECT_EQ(stack_->StatusOf(id), "STOPPING");
  ASSERT_TRUE(stack_->WaitStatus(id, "STOPPED", std::chrono::seconds(30)));
  auto h = stack_->History(id);
  // ... STOPPED, STARTING, STOPPING, STOPPED: the superseded start never wrote STARTED.
  ASSERT_GE(h.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(h.end() - 3, h.end()),
            (std::vector<std::string>{"STARTING", "STOPPING", "STOPPED"}));
  // A stop during create supersedes the build the same way.
  std::string building = CreateSlow("building", 200);
  ASSERT_TRUE(stack_->WaitStatus(building, "CLUSTER_CREATED", std::chrono::seconds(30)));
  ASSERT_EQ(
      Http("POST", Url("/v0/pipelines/" + building + "/stop"), {"Authorization: Bearer " + key_})
          .status,
      202);
  ASSERT_TRUE(stack_->WaitStatus(building, "STOPPED", std::chrono::seconds(30)));
  auto hb = stack_->History(building);
  EXPECT_EQ(std::count(hb.begin(), hb.end(), "STARTED"), 0);
  EXPECT_EQ(hb.back(), "STOPPED");
}

TEST_F(Dialects, OpenApiIsServed) {
  auto r = Http("GET", Url("/api/openapi.yaml"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "application/yaml");
  EXPECT_EQ(r.body.rfind("openapi: 3", 0), 0u);
  EXPECT_NE(r.body.find("/v0/pipelines/{id}/start:"), std::string::npos);
}

}  // namespace
}  // namespace lambda

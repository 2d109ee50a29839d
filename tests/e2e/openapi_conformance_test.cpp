// schemas/openapi.yaml against reality: the real answers of every route of every dialect, successes
// and errors, conform to the schema documented for that route and status, and the documented
// request schemas agree with what the server accepts and with schemas/*.schema.json.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "openapi.h"
#include "sse_client.h"
#include "support.h"

namespace lambda {
namespace {

using std::chrono::seconds;
using testing::CreateBody;
using testing::EnvOr;
using testing::Http;
using testing::Json;
using testing::OpenApi;
using testing::Stack;

std::string Read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

constexpr const char* kMissing = "9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c";

const OpenApi& Doc() {
  static const OpenApi doc(EnvOr("LAMBDA_SOURCE_DIR") + "/schemas/openapi.yaml");
  return doc;
}

class OpenApiConformance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack(Stack::Options{});
    key_ = stack_->NewKey("conform");
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  /// Calls the route and checks the answer against the document; returns the answer.
  static testing::HttpResponse Check(const std::string& method, const std::string& doc_path,
                                     const std::string& path, int expected_status,
                                     const std::string& body = "",
                                     std::vector<std::string> headers = {}) {
    headers.push_back("X-API-Key: " + key_);
    auto r = Http(method, stack_->url() + path, headers, body);
    EXPECT_EQ(r.status, expected_status) << method << " " << path << " " << r.body;
    auto problems = Doc().CheckResponse(method, doc_path, static_cast<int>(r.status), r.body);
    EXPECT_TRUE(problems.empty()) << method << " " << path << ": " << problems.front();
    return r;
  }
  /// Calls the route with a key no tenant has: 401, in the shape documented for the route.
  static void CheckUnauthorized(const std::string& method, const std::string& doc_path,
                                const std::string& path, std::vector<std::string> headers = {},
                                const std::string& body = "") {
    headers.push_back("X-API-Key: wrong");
    auto r = Http(method, stack_->url() + path, headers, body);
    EXPECT_EQ(r.status, 401) << method << " " << path << " " << r.body;
    auto problems = Doc().CheckResponse(method, doc_path, 401, r.body);
    EXPECT_TRUE(problems.empty()) << method << " " << path << ": " << problems.front();
  }
  static Stack* stack_;
  static std::string key_;
};
Stack* OpenApiConformance::stack_ = nullptr;
std::string OpenApiConformance::key_;

TEST_F(OpenApiConformance, EveryServiceRouteAnswersAsDocumented) {
  const std::string col = "/api/lambda-instances";
  const std::string one = "/api/lambda-instances/{id}";
  auto created = Check("POST", col, "/api/lambda-instances/", 202, CreateBody("conform"),
                       {"Content-Type: application/json"});
  std::string id = Json(created.body)["data"][0]["id"].GetString();
  ASSERT_TRUE(stack_->WaitStatus(id, "STARTED", seconds(20)));
  Check("POST", col, "/api/lambda-instances/", 400, R"({"instance_name":""})",
        {"Content-Type: application/json"});
  Check("GET", "/api/authenticate", "/api/authenticate/", 200);
  Check("GET", col, "/api/lambda-instances/", 200);
  Check("GET", col, "/api/lambda-instances/?limit=1", 200);
  Check("GET", col, "/api/lambda-instances/?limit=x", 400);
  Check("GET", "/api/lambda-instance", "/api/lambda-instance/", 200);
  Check("GET", "/api/lambda-instances/count", "/api/lambda-instances/count/", 200);
  Check("GET", one, "/api/lambda-instances/" + id + "/", 200);
  Check("GET", one, "/api/lambda-instances/" + id + "/?filter=info", 200);
  Check("GET", one, "/api/lambda-instances/" + id + "/?filter=bogus", 400);
  Check("GET", one, "/api/lambda-instances/" + std::string(kMissing) + "/", 404);
  Check("GET", one + "/status", "/api/lambda-instances/" + id + "/status/", 200);
  Check("GET", one + "/status", "/api/lambda-instances/" + id + "/status/?wait_for=STARTED", 200);
  Check("GET", one + "/status", "/api/lambda-instances/" + id + "/status/?wait_for=NOPE", 400);
  Check("GET", "/api/lambda-instance/{id}/status", "/api/lambda-instance/" + id + "/status/", 200);
  Check("GET", one + "/events", "/api/lambda-instances/" + id + "/events/", 200);
  Check("GET", one + "/events", "/api/lambda-instances/" + id + "/events/?since=x", 400);
  Check("GET", "/api/lambda-instances/events", "/api/lambda-instances/events/", 406);
  // SPEC §4.5: tags replaced, shown in the list and details, and the list's filters.
  const std::vector<std::string> json_type{"Content-Type: application/json"};
  Check("PUT", one + "/tags", "/api/lambda-instances/" + id + "/tags/", 200,
        R"({"tags":{"team":"conform"}})", json_type);
  Check("PUT", one + "/tags", "/api/lambda-instances/" + id + "/tags/", 400,
        R"({"tags":{"Team":"x"}})", json_type);
  Check("PUT", one + "/tags", "/api/lambda-instances/" + std::string(kMissing) + "/tags/", 404,
        R"({"tags":{}})", json_type);
  Check("GET", col, "/api/lambda-instances/?tag=team:conform&status=STARTED,STOPPED&limit=1", 200);
  Check("GET", col, "/api/lambda-instances/?status=NOPE", 400);
  Check("GET", one, "/api/lambda-instances/" + id + "/", 200);
  Check("POST", one, "/api/lambda-instances/" + id + "/", 400, "action=reboot");
  Check("POST", one, "/api/lambda-instances/" + id + "/", 409, "action=start");
  Check("POST", one, "/api/lambda-instances/" + id + "/", 202, "action=stop");
  ASSERT_TRUE(stack_->WaitStatus(id, "STOPPED", seconds(20)));
  Check("POST", "/api/lambda-instances/actions", "/api/lambda-instances/actions/", 202,
        R"({"action":"start","ids":[")" + id + R"(","x"]})", {"Content-Type: application/json"});
  Check("POST", "/api/lambda-instances/actions", "/api/lambda-instances/actions/", 400,
        R"({"action":"start","ids":[]})", {"Content-Type: application/json"});
  ASSERT_TRUE(stack_->WaitStatus(id, "STARTED", seconds(20)));
  Check("DELETE", one, "/api/lambda-instances/" + id + "/", 202);
  Check("DELETE", one, "/api/lambda-instances/" + id + "/", 409);
  // The key is checked first, and answered as documented.
  auto r = Http("GET", stack_->url() + "/api/lambda-instances/", {"X-API-Key: wrong"});
  EXPECT_TRUE(Doc().CheckResponse("GET", col, 401, r.body).empty()) << r.body;
}

// Each dialect's answers, successes and errors, against the schema declared for that route and
// status: the legacy /backend routes (SPEC 4.2).
TEST_F(OpenApiConformance, LegacyRoutesAnswerAsDocumented) {
  auto ids = stack_->Seed(2, "STOPPED", "conform");
  ASSERT_EQ(ids.size(), 2u);
  const std::string one = "/backend/lambda-instances/{id}";
  const std::string at = "/backend/lambda-instances/" + ids[0];
  Check("GET", "/backend/authenticate", "/backend/authenticate/", 200);
  Check("GET", "/backend/lambda-instances", "/backend/lambda-instances/", 200);
  Check("GET", "/backend/lambda-instances", "/backend/lambda-instances/?limit=1&page=1", 200);
  Check("GET", "/backend/lambda-instances", "/backend/lambda-instances/?limit=1", 400);
  Check("GET", "/backend/lambda-instances", "/backend/lambda-instances/?limit=0&page=1", 400);
  Check("GET", one, at + "/", 200);
  Check("GET", one, "/backend/lambda-instances/" + std::string(kMissing) + "/", 404);
  Check("GET", one + "/status", at + "/status/", 200);
  Check("GET", one + "/status", "/backend/lambda-instances/" + std::string(kMissing) + "/status/",
        404);
  Check("POST", one + "/stop", at + "/stop/", 409);
  Check("POST", one + "/start", at + "/start/", 202);
  Check("POST", one + "/destroy", "/backend/lambda-instances/" + ids[1] + "/destroy/", 202);
  Check("DELETE", one, "/backend/lambda-instances/" + ids[1] + "/", 409);
  Check("POST", "/backend/create_lambda_instance", "/backend/create_lambda_instance/", 400,
        R"({"instance_name":""})", {"Content-Type: application/json"});
  Check("POST", "/backend/create_lambda_instance", "/backend/create_lambda_instance/", 202,
        CreateBody("conform-legacy"), {"Content-Type: application/json"});
  CheckUnauthorized("GET", "/backend/lambda-instances", "/backend/lambda-instances/");
  CheckUnauthorized("POST", one + "/start", at + "/start/");
}

// The Zenlayer VM API (SPEC 4.3): both 200 shapes, and its errors.
TEST_F(OpenApiConformance, ZenlayerAnswersAsDocumented) {
  auto stopped = stack_->Seed(1, "STOPPED", "conform");
  auto running = stack_->Seed(1, "STARTED", "conform");
  ASSERT_EQ(stopped.size() + running.size(), 2u);
  const std::string vm = "/api/v2/vm";
  auto as = [](const std::string& action) {
    return std::vector<std::string>{"X-ZC-Action: " + action, "Content-Type: application/json"};
  };
  auto ids = [](const std::string& id) { return R"({"instanceIds":[")" + id + R"("]})"; };
  auto page = Check("POST", vm, vm, 200, "{}", as("DescribeInstancesStatus"));
  EXPECT_TRUE(Json(page.body)["response"].HasMember("dataSet")) << page.body;
  Check("POST", vm, vm, 200, ids(running[0]), as("DescribeInstancesStatus"));
  Check("POST", vm, vm, 400, R"({"pageSize":0})", as("DescribeInstancesStatus"));
  auto done = Check("POST", vm, vm, 200, ids(stopped[0]), as("StartInstances"));
  EXPECT_FALSE(Json(done.body)["response"].HasMember("dataSet")) << done.body;
  Check("POST", vm, vm, 403, ids(running[0]), as("StartInstances"));
  Check("POST", vm, vm, 404, ids(kMissing), as("StopInstances"));
  Check("POST", vm, vm, 400, R"({"instanceIds":[]})", as("StopInstances"));
  Check("POST", vm, vm, 400, "{}", {"Content-Type: application/json"});  // no X-ZC-Action
  CheckUnauthorized("POST", vm, vm, as("StartInstances"), ids(stopped[0]));
}

// The Feldera pipeline API (SPEC 4.3): the pipeline, the accepted actions and every error shape.
TEST_F(OpenApiConformance, FelderaAnswersAsDocumented) {
  auto stopped = stack_->Seed(1, "STOPPED", "conform");
  ASSERT_EQ(stopped.size(), 1u);
  const std::string p = "/v0/pipelines/{id}";
  const std::string at = "/v0/pipelines/" + stopped[0];
  Check("GET", p, at, 200);
  Check("GET", p, "/v0/pipelines/" + std::string(kMissing), 404);
  Check("GET", p, "/v0/pipelines/nope", 404);
  Check("POST", p + "/start", at + "/start?initial=bogus", 405);
  Check("POST", p + "/start", "/v0/pipelines/" + std::string(kMissing) + "/start", 404);
  Check("POST", p + "/stop", at + "/stop", 202);  // already stopped: idempotent
  // A start while the stop is still running is an IllegalPipelineAction with its details.
  auto created = Check("POST", "/api/lambda-instances", "/api/lambda-instances/", 202,
                       CreateBody("conform-feldera", R"("simulate":{"step_ms":150})"),
                       {"Content-Type: application/json"});
  std::string id = Json(created.body)["data"][0]["id"].GetString();
  ASSERT_TRUE(stack_->WaitStatus(id, "STARTED", seconds(30)));
  Check("GET", p, "/v0/pipelines/" + id, 200);
  Check("POST", p + "/stop", "/v0/pipelines/" + id + "/stop", 202);
  ASSERT_EQ(stack_->StatusOf(id), "STOPPING");
  auto illegal = Check("POST", p + "/start", "/v0/pipelines/" + id + "/start", 400);
  EXPECT_NE(illegal.body.find("IllegalPipelineAction"), std::string::npos) << illegal.body;
  ASSERT_TRUE(stack_->WaitStatus(id, "STOPPED", seconds(30)));
  Check("POST", p + "/start", "/v0/pipelines/" + id + "/start?initial=paused", 202);
  CheckUnauthorized("GET", p, at);
  CheckUnauthorized("POST", p + "/stop", at + "/stop");
}

// What the Feldera Python client calls with its defaults (SPEC 4.3).
TEST_F(OpenApiConformance, FelderaClientRoutesAnswerAsDocumented) {
  auto running = stack_->Seed(1, "STARTED", "conform");
  auto stopped = stack_->Seed(1, "STOPPED", "conform");
  ASSERT_EQ(running.size() + stopped.size(), 2u);
  const std::string p = "/v0/pipelines/{id}";
  const std::string missing = "/v0/pipelines/" + std::string(kMissing);
  auto config = Check("GET", "/v0/config", "/v0/config", 200);
  EXPECT_NE(config.body.find("\"Open source\""), std::string::npos) << config.body;
  Check("GET", "/v0/pipelines", "/v0/pipelines", 200);
  Check("GET", "/v0/pipelines", "/v0/pipelines?selector=status", 200);
  Check("POST", p + "/dismiss_error", "/v0/pipelines/" + stopped[0] + "/dismiss_error", 200);
  // Nothing to clear on a running pipeline: 200 as well.
  Check("POST", p + "/dismiss_error", "/v0/pipelines/" + running[0] + "/dismiss_error", 200);
  Check("POST", p + "/dismiss_error", missing + "/dismiss_error", 404);
  Check("POST", p + "/pause", missing + "/pause", 404);
  Check("POST", p + "/resume", missing + "/resume", 404);
  Check("POST", p + "/pause", "/v0/pipelines/" + running[0] + "/pause", 202);
  CheckUnauthorized("GET", "/v0/config", "/v0/config");
  CheckUnauthorized("GET", "/v0/pipelines", "/v0/pipelines");
}

// The oracle itself: a documented field named like a schema keyword is checked, not dropped.
TEST(OpenApiOracle, FieldsNamedLikeSchemaKeywordsAreChecked) {
  auto schema = Doc().ResponseSchema("GET", "/v0/pipelines/{id}", 200);
  ASSERT_TRUE(schema);
  const std::string base =
      R"({"id":"a","name":"a","deployment_status":"Running","deployment_desired_status":"Running")";
  EXPECT_TRUE(testing::Validate(*schema, base + R"(,"description":"n"})").empty());
  EXPECT_FALSE(testing::Validate(*schema, base + R"(,"description":5})").empty());
  EXPECT_FALSE(testing::Validate(*schema, base + R"(,"deployment_error":{"message":1}})").empty());
  EXPECT_TRUE(testing::Validate(*schema, base + R"(,"deployment_error":null})").empty());
}

// Every dialect's error shape is its own: one dialect's body is not another's.
TEST(OpenApiOracle, EachDialectsErrorShapeRejectsTheOthers) {
  const std::string service = R"({"errors":[{"status":404,"detail":"x"}]})";
  const std::string legacy = R"({"errors":[{"message":"x","code":404,"details":"not found"}]})";
  const std::string zenlayer =
      R"({"requestId":"r","code":"INVALID_INSTANCE_NOT_FOUND","message":"x"})";
  const std::string feldera =
      R"({"message":"x","error_code":"UnknownPipelineName","details":{"pipeline_name":"x"}})";
  struct Case {
    std::string method, path, own;
  };
  const std::vector<std::string> all{service, legacy, zenlayer, feldera};
  for (const Case& c : std::vector<Case>{{"GET", "/api/lambda-instances/{id}", service},
                                         {"GET", "/backend/lambda-instances/{id}", legacy},
                                         {"POST", "/api/v2/vm", zenlayer},
                                         {"GET", "/v0/pipelines/{id}", feldera}}) {
    for (const auto& body : all) {
      EXPECT_EQ(Doc().CheckResponse(c.method, c.path, 404, body).empty(), body == c.own)
          << c.method << " " << c.path << " with " << body;
    }
  }
}

TEST(OpenApiRequests, TheCreateSchemaAgreesWithTheJsonSchemaTheServerUses) {
  auto documented = Doc().RequestSchema("POST", "/api/lambda-instances");
  ASSERT_TRUE(documented);
  rapidjson::Document served;
  served.Parse(Read(EnvOr("LAMBDA_SOURCE_DIR") + "/schemas/create_request.schema.json").c_str());
  ASSERT_FALSE(served.HasParseError());
  const std::string base = CreateBody("agree");
  std::vector<std::pair<std::string, bool>> bodies{
      {base, true},
      {CreateBody("agree", R"("public_key_name":"k")"), true},
      {CreateBody("agree", R"("simulate":{"fail_at":"KAFKA","step_ms":5})"), true},
      {CreateBody("agree", R"("surprise":1)"), false},
      {CreateBody("", ""), false},
      {R"({"instance_name":"x"})", false},
  };
  for (const char* field :
       {"\"slaves\":2", "\"ip_allocation\":\"master\"", "\"ram_master\":1024"}) {
    std::string without = base;
    auto at = without.find(field);
    ASSERT_NE(at, std::string::npos);
    without.erase(at, std::string(field).size() + 1);  // and its comma
    bodies.emplace_back(without, false);
  }
  for (const std::string& bad :
       {std::string("\"slaves\":65"), std::string("\"slaves\":-1"),
        std::string("\"ip_allocation\":\"some\""), std::string("\"ram_master\":\"lots\"")}) {
    std::string body = base;
    std::string field = bad.substr(0, bad.find(':'));
    auto at = body.find(field + ":");
    auto end = body.find(',', at);
    body.replace(at, end - at, bad);
    bodies.emplace_back(body, false);
  }
  for (const auto& [body, valid] : bodies) {
    bool doc_ok = testing::Validate(*documented, body).empty();
    bool served_ok = testing::Validate(served, body).empty();
    EXPECT_EQ(doc_ok, valid) << "openapi.yaml on " << body;
    EXPECT_EQ(served_ok, valid) << "create_request.schema.json on " << body;
  }
}

TEST(OpenApiRequests, TheBatchSchemaAgreesWithTheServer) {
  auto documented = Doc().RequestSchema("POST", "/api/lambda-instances/actions");
  ASSERT_TRUE(documented);
  EXPECT_TRUE(
      testing::Validate(*documented, R"({"action":"stop","ids":["a"],"atomic":true})").empty());
  for (const char* bad : {R"({"action":"stop","ids":[]})", R"({"action":"halt","ids":["a"]})",
                          R"({"ids":["a"]})", R"({"action":"stop","ids":["a"],"x":1})",
                          R"({"action":"stop","ids":["a"],"atomic":"yes"})"}) {
    EXPECT_FALSE(testing::Validate(*documented, bad).empty()) << bad;
  }
}

}  // namespace
}  // namespace lambda

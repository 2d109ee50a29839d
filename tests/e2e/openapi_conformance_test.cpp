// schemas/openapi.yaml against reality: the real answers of every service-API route (and the
// statuses of the other dialects) conform to the documented schemas, and the documented request
// schemas agree with what the server accepts and with schemas/*.schema.json.
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
  Check("GET", one, "/api/lambda-instances/9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c/", 404);
  Check("GET", one + "/status", "/api/lambda-instances/" + id + "/status/", 200);
  Check("GET", one + "/status", "/api/lambda-instances/" + id + "/status/?wait_for=STARTED", 200);
  Check("GET", one + "/status", "/api/lambda-instances/" + id + "/status/?wait_for=NOPE", 400);
  Check("GET", "/api/lambda-instance/{id}/status", "/api/lambda-instance/" + id + "/status/", 200);
  Check("GET", one + "/events", "/api/lambda-instances/" + id + "/events/", 200);
  Check("GET", one + "/events", "/api/lambda-instances/" + id + "/events/?since=x", 400);
  Check("GET", "/api/lambda-instances/events", "/api/lambda-instances/events/", 406);
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

TEST_F(OpenApiConformance, TheOtherDialectsAnswerOnlyDocumentedStatuses) {
  auto ids = stack_->Seed(1, "STOPPED", "conform");
  const std::string& id = ids[0];
  struct Call {
    std::string method, doc_path, path;
    std::vector<std::string> headers;
    std::string body;
  };
  for (const Call& c : std::vector<Call>{
           {"GET", "/backend/lambda-instances", "/backend/lambda-instances/", {}, ""},
           {"GET",
            "/backend/lambda-instances/{id}",
            "/backend/lambda-instances/" + id + "/",
            {},
            ""},
           {"GET",
            "/backend/lambda-instances/{id}/status",
            "/backend/lambda-instances/" + id + "/status/",
            {},
            ""},
           {"POST",
            "/backend/lambda-instances/{id}/stop",
            "/backend/lambda-instances/" + id + "/stop/",
            {},
            ""},
           {"POST", "/api/v2/vm", "/api/v2/vm", {"X-ZC-Action: DescribeInstancesStatus"}, "{}"},
           {"GET", "/v0/pipelines/{id}", "/v0/pipelines/" + id, {}, ""},
           {"GET", "/v0/pipelines/{id}", "/v0/pipelines/nope", {}, ""},
           {"GET", "/v0/config", "/v0/config", {}, ""},
           {"GET", "/v0/pipelines", "/v0/pipelines?selector=status", {}, ""},
           {"POST",
            "/v0/pipelines/{id}/dismiss_error",
            "/v0/pipelines/" + id + "/dismiss_error",
            {},
            ""},
           {"POST", "/v0/pipelines/{id}/pause", "/v0/pipelines/" + id + "/pause", {}, ""},
           {"POST", "/v0/pipelines/{id}/resume", "/v0/pipelines/nope/resume", {}, ""},
       }) {
    auto headers = c.headers;
    headers.push_back("X-API-Key: " + key_);
    auto r = Http(c.method, stack_->url() + c.path, headers, c.body);
    EXPECT_TRUE(Doc().Documents(c.method, c.doc_path, static_cast<int>(r.status)))
        << c.method << " " << c.path << " answered " << r.status << " " << r.body;
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

// SPEC §4.3: what the official Feldera Python client (0.337.0, python/feldera/rest/) sends with
// its defaults, request by request and in its order, against the real binaries. Each request
// carries the client's headers (HttpRequests: its User-Agent, `Authorization: Bearer KEY`, and
// `Content-Type: application/json` on every request, bodiless ones included); each test asserts
// what the client's parsing needs back.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>

#include "lambda/redis/keys.h"
#include "support.h"

namespace lambda {
namespace {

using testing::CreateBody;
using testing::Http;
using testing::HttpResponse;
using testing::Json;
using testing::Stack;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

class FelderaClient : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack(Stack::Options{2, {}, {"--lease-ms", "5000", "--log-level", "debug"}});
    key_ = stack_->NewKey("felderaclient");
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }

  /// One request as HttpRequests.send_request makes it: url + "/v0" + path.
  static HttpResponse Send(const std::string& method, const std::string& path,
                           const std::string& key = key_) {
    return Http(method, stack_->url() + "/v0" + path,
                {"User-Agent: feldera-python-sdk/v1", "Authorization: Bearer " + key,
                 "Content-Type: application/json"});
  }
  /// FelderaClient(url, api_key=KEY): its constructor reads /config and raises unless the
  /// edition is one of FelderaEdition's values (compared case-insensitively).
  static void Connect(const std::string& key = key_) {
    auto r = Send("GET", "/config", key);
    ASSERT_EQ(r.status, 200) << r.body;
    auto d = Json(r.body);
    ASSERT_TRUE(d["edition"].IsString()) << r.body;
    std::string edition = Lower(d["edition"].GetString());
    EXPECT_TRUE(edition == "open source" || edition == "enterprise") << r.body;
    EXPECT_TRUE(d["version"].IsString()) << r.body;
  }
  /// get_pipeline(name, STATUS): what every wait loop of the client polls.
  static rapidjson::Document Status(const std::string& name) {
    auto r = Send("GET", "/pipelines/" + name + "?selector=status");
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body);
  }
  /// __wait_for_pipeline_state(_one_of): until deployment_status is `state` (case-insensitive);
  /// false where the client would raise (Stopped with an error and desired Stopped) or time out.
  static bool WaitState(const std::string& name, const std::string& state) {
    bool raised = false;
    bool reached = stack_->WaitFor([&] {
      auto d = Status(name);
      if (!d.IsObject() || !d["deployment_status"].IsString()) return false;
      std::string status = d["deployment_status"].GetString();
      if (Lower(status) == Lower(state)) return true;
      raised = status == "Stopped" && d["deployment_error"].IsObject() &&
               d["deployment_error"].MemberCount() > 0 &&
               std::string(d["deployment_desired_status"].GetString()) == "Stopped";
      return raised;
    });
    return reached && !raised;
  }
  /// Pipeline.start(): dismiss_error, then start?dismiss_error=false&initial=running.
  static void Start(const std::string& name, const std::string& initial = "running") {
    auto dismissed = Send("POST", "/pipelines/" + name + "/dismiss_error");
    ASSERT_EQ(dismissed.status, 200) << dismissed.body;
    auto started =
        Send("POST", "/pipelines/" + name + "/start?dismiss_error=false&initial=" + initial);
    ASSERT_EQ(started.status, 202) << started.body;
    ASSERT_TRUE(WaitState(name, initial)) << name;
  }
  static std::string Gen(const std::string& id) {
    return stack_->redis().Cmd({"HGET", redis::keys::Instance(stack_->redis_prefix(), id), "gen"});
  }
  static std::string WorkerLog() { return stack_->worker(0).Log() + stack_->worker(1).Log(); }
  static size_t Count(const std::string& haystack, const std::string& needle) {
    size_t n = 0;
    for (size_t at = haystack.find(needle); at != std::string::npos;
         at = haystack.find(needle, at + 1))
      ++n;
    return n;
  }

  static Stack* stack_;
  static std::string key_;
};
Stack* FelderaClient::stack_ = nullptr;
std::string FelderaClient::key_;

TEST_F(FelderaClient, ConstructorReadsConfig) {
  Connect();
  auto d = Json(Send("GET", "/config").body);
  EXPECT_STREQ(d["edition"].GetString(), "Open source");
  auto unauthorized = Send("GET", "/config", "nope");
  EXPECT_EQ(unauthorized.status, 401);
  auto e = Json(unauthorized.body);
  EXPECT_TRUE(e["message"].IsString());
  EXPECT_TRUE(e["error_code"].IsString());
  EXPECT_TRUE(e.HasMember("details"));
}

TEST_F(FelderaClient, DefaultStartDismissesTheErrorFirstThenStops) {
  Connect();
  auto ids = stack_->Seed(1, "STOPPED", "felderaclient");
  Start(ids[0]);
  EXPECT_EQ(stack_->StatusOf(ids[0]), "STARTED");
  // stop(force=True): stop?force=true, then polls until Stopped.
  ASSERT_EQ(Send("POST", "/pipelines/" + ids[0] + "/stop?force=true").status, 202);
  ASSERT_TRUE(WaitState(ids[0], "Stopped"));
  // Pipeline.restart(): the same again from Stopped.
  Start(ids[0]);
  auto unknown = Send("POST", "/pipelines/9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c/dismiss_error");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_STREQ(Json(unknown.body)["error_code"].GetString(), "UnknownPipelineName");
  EXPECT_EQ(Send("POST", "/pipelines/not-a-pipeline/dismiss_error").status, 404);
  // Another tenant's pipeline is unknown to this key, and keeps its state.
  std::string other = stack_->NewKey("felderaother");
  EXPECT_EQ(Send("POST", "/pipelines/" + ids[0] + "/dismiss_error", other).status, 404);
}

TEST_F(FelderaClient, StartAfterAFailureDismissesTheErrorTheClientWouldRaiseOn) {
  Connect();
  // A stop whose services fail to stop ends FAILED with a failure_message.
  auto created = Http("POST", stack_->url() + "/api/lambda-instances/", {"X-API-Key: " + key_},
                      CreateBody("flaky", R"("simulate":{"fail_at":"STOP","step_ms":5})"));
  ASSERT_EQ(created.status, 202);
  std::string id = Json(created.body)["data"][0]["id"].GetString();
  ASSERT_TRUE(WaitState(id, "Running"));
  ASSERT_EQ(Send("POST", "/pipelines/" + id + "/stop?force=true").status, 202);
  ASSERT_TRUE(stack_->WaitStatus(id, "FAILED", std::chrono::seconds(20)));
  auto failed = Status(id);
  ASSERT_TRUE(failed["deployment_error"].IsObject());
  EXPECT_STREQ(failed["deployment_status"].GetString(), "Stopped");
  EXPECT_STREQ(failed["deployment_desired_status"].GetString(), "Stopped");
  // The client's start: dismiss_error clears it, and the start that follows is polled to Running
  // without meeting the error its wait loop raises on.
  ASSERT_EQ(Send("POST", "/pipelines/" + id + "/dismiss_error").status, 200);
  EXPECT_TRUE(Status(id)["deployment_error"].IsNull());
  EXPECT_EQ(stack_->redis().Cmd(
                {"HGET", redis::keys::Instance(stack_->redis_prefix(), id), "failure_message"}),
            "");
  EXPECT_EQ(stack_->StatusOf(id), "FAILED");  // only the message is cleared
  ASSERT_EQ(Send("POST", "/pipelines/" + id + "/start?dismiss_error=false&initial=running").status,
            202);
  EXPECT_TRUE(WaitState(id, "running"));
}

TEST_F(FelderaClient, PauseStopsTheServicesKeepsTheVmsAndResumeStartsThemAgain) {
  Connect();
  auto ids = stack_->Seed(1, "STOPPED", "felderaclient");
  const std::string& id = ids[0];
  Start(id);
  const std::string stop_services = "\"instance_id\":\"" + id + "\",\"step\":\"stop_services\"";
  const std::string start_services = "\"instance_id\":\"" + id + "\",\"step\":\"start_services\"";
  const std::string stop_vms = "\"instance_id\":\"" + id + "\",\"step\":\"stop_vms\"";
  ASSERT_TRUE(stack_->WaitFor([&] { return Count(WorkerLog(), start_services) == 1; }));
  // pause_pipeline: POST …/pause, then polls until Paused.
  auto paused = Send("POST", "/pipelines/" + id + "/pause");
  ASSERT_EQ(paused.status, 202) << paused.body;
  ASSERT_TRUE(WaitState(id, "paused"));
  EXPECT_EQ(stack_->StatusOf(id), "STARTED");  // the VMs run on
  EXPECT_STREQ(Status(id)["deployment_desired_status"].GetString(), "Paused");
  ASSERT_TRUE(stack_->WaitFor([&] { return Count(WorkerLog(), stop_services) == 1; }));
  EXPECT_EQ(Count(WorkerLog(), stop_vms), 0u);
  // Pausing a paused pipeline changes nothing.
  std::string gen = Gen(id);
  EXPECT_EQ(Send("POST", "/pipelines/" + id + "/pause").status, 202);
  EXPECT_EQ(Gen(id), gen);
  // resume_pipeline: POST …/resume, then polls until Running.
  auto resumed = Send("POST", "/pipelines/" + id + "/resume");
  ASSERT_EQ(resumed.status, 202) << resumed.body;
  ASSERT_TRUE(WaitState(id, "running"));
  ASSERT_TRUE(stack_->WaitFor([&] { return Count(WorkerLog(), start_services) == 2; }));
  gen = Gen(id);
  EXPECT_EQ(Send("POST", "/pipelines/" + id + "/resume").status, 202);
  EXPECT_EQ(Gen(id), gen);
  // A paused pipeline stops like any other.
  ASSERT_EQ(Send("POST", "/pipelines/" + id + "/pause").status, 202);
  ASSERT_TRUE(WaitState(id, "paused"));
  ASSERT_EQ(Send("POST", "/pipelines/" + id + "/stop?force=true").status, 202);
  ASSERT_TRUE(WaitState(id, "Stopped"));
  // Neither is possible on a stopped pipeline: 400 in Feldera's shape, nothing admitted.
  gen = Gen(id);
  for (const char* action : {"pause", "resume"}) {
    auto illegal = Send("POST", "/pipelines/" + id + "/" + action);
    EXPECT_EQ(illegal.status, 400) << action;
    auto d = Json(illegal.body);
    EXPECT_STREQ(d["error_code"].GetString(), "IllegalPipelineAction");
    EXPECT_STREQ(d["details"]["status"].GetString(), "Stopped");
  }
  EXPECT_EQ(Gen(id), gen);
  EXPECT_EQ(Send("POST", "/pipelines/9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c/pause").status, 404);
}

TEST_F(FelderaClient, PipelinesListsTheTenantsPipelines) {
  std::string key = stack_->NewKey("felderalist");
  Connect(key);
  auto stopped = stack_->Seed(2, "STOPPED", "felderalist");
  auto started = stack_->Seed(1, "STARTED", "felderalist");
  stack_->Seed(1, "DESTROYED", "felderalist");
  stack_->Seed(1, "STOPPED", "felderaelsewhere");
  // client.pipelines() / Pipeline.all(): GET /pipelines?selector=status, one
  // Pipeline.from_dict per element (the high-level Pipeline then reads .name).
  auto r = Send("GET", "/pipelines?selector=status", key);
  ASSERT_EQ(r.status, 200) << r.body;
  auto d = Json(r.body);
  ASSERT_TRUE(d.IsArray());
  ASSERT_EQ(d.Size(), 3u) << r.body;  // not the destroyed one, not another tenant's
  std::vector<std::string> names;
  for (const auto& p : d.GetArray()) {
    ASSERT_TRUE(p["name"].IsString());
    names.emplace_back(p["name"].GetString());
    std::string status = p["deployment_status"].GetString();
    EXPECT_EQ(status, names.back() == started[0] ? "Running" : "Stopped");
    EXPECT_TRUE(p["deployment_desired_status"].IsString());
    EXPECT_TRUE(p.HasMember("deployment_error"));
    EXPECT_TRUE(!p.HasMember("program_info") || p["program_info"].IsNull());
  }
  std::sort(names.begin(), names.end());
  std::vector<std::string> want{stopped[0], stopped[1], started[0]};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(names, want);
  EXPECT_EQ(Json(Send("GET", "/pipelines?selector=all", key).body).Size(), 3u);
  EXPECT_EQ(Json(Send("GET", "/pipelines", key).body).Size(), 3u);
  auto bad = Send("GET", "/pipelines?selector=everything", key);
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(Json(bad.body)["error_code"].IsString());
}

}  // namespace
}  // namespace lambda

// End to end for scoped, named, expiring API keys (SPEC §3) and the audit trail (§4.5): keys
// made with the real lambdactl, requests over HTTP to the real shim in every dialect, and what
// Redis holds afterwards (a refused request changes nothing).
#include "lambda/redis/keys.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <thread>

#include "lambda/util/util.h"
#include "support.h"

namespace lambda {
namespace {

using testing::CreateBody;
using testing::EnvOr;
using testing::Http;
using testing::HttpResponse;
using testing::Json;
using testing::RunCommand;
using testing::Stack;

class Keys : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { stack_ = new Stack(Stack::Options{1, {}, {}}); }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  static std::string Ctl(const std::string& args) {
    return EnvOr("LAMBDA_CTL_BIN") + " --redis-url '" + stack_->redis_url() + "' --redis-prefix " +
           stack_->redis_prefix() + " " + args + " 2>&1";
  }
  /// `lambdactl apikey create --tenant T ARGS`: the key.
  static std::string NewKey(const std::string& tenant, const std::string& args) {
    auto run = RunCommand(Ctl("apikey create --tenant " + tenant + " " + args));
    EXPECT_EQ(run.rc, 0) << run.out;
    std::string key = run.out.substr(0, run.out.find('\n'));
    EXPECT_GE(key.size(), 43U) << run.out;
    return key;
  }
  static std::string Url(const std::string& path) { return stack_->url() + path; }
  static std::vector<std::string> With(const std::string& key) { return {"X-API-Key: " + key}; }
  static std::string InstanceHash(const std::string& id) {
    return stack_->redis().Cmd(
        {"HMGET", redis::keys::Instance(stack_->redis_prefix(), id), "status", "gen"});
  }
  static rapidjson::Document Audit(const std::string& key, const std::string& query = "") {
    auto r = Http("GET", Url("/api/audit/" + query), With(key));
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body);
  }

  static Stack* stack_;
};
Stack* Keys::stack_ = nullptr;

TEST_F(Keys, AReadKeyReadsButEveryDialectRefusesItsActionsWith403AndNothingChanges) {
  const std::string tenant = "scope-read";
  const std::string id = stack_->Seed(1, "STOPPED", tenant).at(0);
  const std::string key = NewKey(tenant, "--scope read --name dashboard");
  EXPECT_EQ(Http("GET", Url("/api/lambda-instances/" + id + "/"), With(key)).status, 200);
  EXPECT_EQ(Http("GET", Url("/api/lambda-instances/"), With(key)).status, 200);
  EXPECT_EQ(Http("GET", Url("/backend/lambda-instances/" + id + "/status/"), With(key)).status,
            200);
  EXPECT_EQ(Http("GET", Url("/v0/pipelines/" + id), With(key)).status, 200);
  // Zenlayer's Describe is a POST that only reads: a read.
  std::vector<std::string> zc{"X-API-Key: " + key, "Content-Type: application/json",
                              "X-ZC-Action: DescribeInstancesStatus"};
  auto described = Http("POST", Url("/api/v2/vm"), zc, R"({"instanceIds":[")" + id + R"("]})");
  EXPECT_EQ(described.status, 200) << described.body;

  const std::string before = InstanceHash(id);
  const auto history =
      stack_->redis().Int({"XLEN", redis::keys::History(stack_->redis_prefix(), id)});
  // The service API.
  auto start = Http("POST", Url("/api/lambda-instances/" + id + "/"), With(key), "action=start");
  EXPECT_EQ(start.status, 403) << start.body;
  auto s = Json(start.body);
  ASSERT_TRUE(s.HasMember("errors")) << start.body;
  EXPECT_EQ(s["errors"][0]["status"].GetInt(), 403);
  EXPECT_NE(std::string(s["errors"][0]["detail"].GetString()).find("'read'"), std::string::npos);
  auto create = Http("POST", Url("/api/lambda-instances/"),
                     {"X-API-Key: " + key, "Content-Type: application/json"}, CreateBody("no"));
  EXPECT_EQ(create.status, 403) << create.body;
  EXPECT_EQ(Http("DELETE", Url("/api/lambda-instances/" + id + "/"), With(key)).status, 403);
  // Legacy.
  auto legacy = Http("POST", Url("/backend/lambda-instances/" + id + "/start/"), With(key));
  EXPECT_EQ(legacy.status, 403) << legacy.body;
  auto l = Json(legacy.body);
  ASSERT_TRUE(l.HasMember("errors")) << legacy.body;
  EXPECT_EQ(l["errors"][0]["code"].GetInt(), 403);
  // Zenlayer.
  zc.back() = "X-ZC-Action: StartInstances";
  auto zen = Http("POST", Url("/api/v2/vm"), zc, R"({"instanceIds":[")" + id + R"("]})");
  EXPECT_EQ(zen.status, 403) << zen.body;
  EXPECT_STREQ(Json(zen.body)["code"].GetString(), "OPERATION_DENIED");
  // Feldera.
  auto feldera = Http("POST", Url("/v0/pipelines/" + id + "/start"), With(key));
  EXPECT_EQ(feldera.status, 403) << feldera.body;
  EXPECT_STREQ(Json(feldera.body)["error_code"].GetString(), "Forbidden");

  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(InstanceHash(id), before);
  EXPECT_EQ(stack_->redis().Int({"XLEN", redis::keys::History(stack_->redis_prefix(), id)}),
            history);
  EXPECT_EQ(stack_->redis().Int({"ZCARD", redis::keys::TenantIds(stack_->redis_prefix(), tenant)}),
            1);
  EXPECT_EQ(Audit(key)["entries"].Size(), 0U);
}

TEST_F(Keys, AnOperateKeyActsAndIsTheDefault) {
  const std::string tenant = "scope-operate";
  const std::string id = stack_->Seed(1, "STOPPED", tenant).at(0);
  const std::string key = NewKey(tenant, "");
  auto start = Http("POST", Url("/api/lambda-instances/" + id + "/"), With(key), "action=start");
  EXPECT_EQ(start.status, 202) << start.body;
  EXPECT_TRUE(stack_->WaitStatus(id, "STARTED", std::chrono::seconds(20)));
  const std::string named = NewKey(tenant, "--scope operate --name ci");
  auto stop = Http("POST", Url("/api/lambda-instances/" + id + "/"), With(named), "action=stop");
  EXPECT_EQ(stop.status, 202) << stop.body;
  // Both are operate keys: the default one too.
  auto listed = RunCommand(Ctl("apikey list --tenant " + tenant));
  ASSERT_EQ(listed.rc, 0) << listed.out;
  for (const auto& k : {key, named}) {
    const std::string id16 = util::Sha256Hex(k).substr(0, 16);
    auto at = listed.out.find(id16);
    ASSERT_NE(at, std::string::npos) << listed.out;
    EXPECT_NE(listed.out.substr(at, listed.out.find('\n', at) - at).find(" operate "),
              std::string::npos)
        << listed.out;
  }
}

TEST_F(Keys, AnExpiredKeyIs401AndItsHeldWaitEnds) {
  const std::string tenant = "scope-expiry";
  const std::string id = stack_->Seed(1, "STOPPED", tenant).at(0);
  const std::string key = NewKey(tenant, "--expires 3s --name short");
  ASSERT_EQ(Http("GET", Url("/api/lambda-instances/" + id + "/"), With(key)).status, 200);
  // A held wait for a status that never comes: it ends when the key expires, not at 30 s.
  const auto started = std::chrono::steady_clock::now();
  auto held =
      Http("GET", Url("/api/lambda-instances/" + id + "/status/?wait_for=STARTED&timeout=30"),
           With(key));
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(held.status, 401) << held.body;
  EXPECT_LT(waited, std::chrono::seconds(12));
  EXPECT_EQ(Http("GET", Url("/api/lambda-instances/" + id + "/"), With(key)).status, 401);
  EXPECT_EQ(
      Http("POST", Url("/api/lambda-instances/" + id + "/"), With(key), "action=start").status,
      401);
  EXPECT_EQ(stack_->StatusOf(id), "STOPPED");
}

TEST_F(Keys, ListShowsIdNameScopeCreatedExpiresAndLastUsed) {
  const std::string tenant = "scope-list";
  const std::string used = NewKey(tenant, "--scope read --name board");
  NewKey(tenant, "--scope admin --expires 30d --name ops");
  EXPECT_EQ(Http("GET", Url("/api/lambda-instances/"), With(used)).status, 200);
  const std::string used_id = util::Sha256Hex(used).substr(0, 16);
  std::string listed;
  ASSERT_TRUE(stack_->WaitFor([&] {
    listed = RunCommand(Ctl("apikey list --tenant " + tenant)).out;
    auto at = listed.find(used_id);
    if (at == std::string::npos) return false;
    auto line = listed.substr(at, listed.find('\n', at) - at);
    return line.size() > 5 && line.substr(line.size() - 5) != "never";  // LAST USED is last
  })) << listed;
  EXPECT_NE(listed.find("LAST USED"), std::string::npos) << listed;
  auto line_of = [&](const std::string& word) {
    auto at = listed.find(word);
    if (at == std::string::npos) return std::string();
    auto start = listed.rfind('\n', at);
    start = start == std::string::npos ? 0 : start + 1;
    return listed.substr(start, listed.find('\n', at) - start);
  };
  const std::string board = line_of("board");
  EXPECT_EQ(board.rfind(used_id, 0), 0U) << listed;
  EXPECT_NE(board.find("read"), std::string::npos) << board;
  EXPECT_NE(board.find(" never "), std::string::npos) << board;  // no expiry
  const std::string ops = line_of("ops");
  EXPECT_NE(ops.find("admin"), std::string::npos) << ops;
  EXPECT_EQ(ops.find(" never "), std::string::npos) << ops;  // it expires
  EXPECT_NE(ops.rfind("never"), std::string::npos) << ops;   // and was never used
  EXPECT_EQ(listed.find(used), std::string::npos);           // never the key itself
  // Bad values: a clear error, exit 2, no key made.
  for (const char* bad : {"--scope root", "--expires 30", "--expires 0d", "--expires 2w",
                          "--expires -1h", "--scope"}) {
    auto run = RunCommand(Ctl("apikey create --tenant " + tenant + " " + bad));
    EXPECT_EQ(run.rc, 2) << bad << ": " << run.out;
    EXPECT_TRUE(run.out.find("--scope") != std::string::npos ||
                run.out.find("--expires") != std::string::npos ||
                run.out.find("usage") != std::string::npos)
        << bad << ": " << run.out;
  }
  EXPECT_EQ(
      stack_->redis().Int({"SCARD", redis::keys::TenantApiKeys(stack_->redis_prefix(), tenant)}),
      2);
}

TEST_F(Keys, TheAuditSaysWhoFromWhereWhichRequestAndDialectForTheTenantOnly) {
  const std::string tenant = "audit-a";
  const std::string key = NewKey(tenant, "--name deployer");
  const std::string key_id = util::Sha256Hex(key).substr(0, 16);
  const std::string other = NewKey("audit-b", "--name intruder");
  const std::string other_id = stack_->Seed(1, "STOPPED", "audit-b").at(0);
  ASSERT_EQ(
      Http("POST", Url("/api/lambda-instances/" + other_id + "/"), With(other), "action=start")
          .status,
      202);
  // A service create and a legacy action, each with its request id.
  auto created =
      Http("POST", Url("/api/lambda-instances/"),
           {"X-API-Key: " + key, "Content-Type: application/json", "X-Request-Id: audit-create-1"},
           CreateBody("audited"));
  ASSERT_EQ(created.status, 202) << created.body;
  const std::string id = Json(created.body)["data"][0]["id"].GetString();
  const std::string seeded = stack_->Seed(1, "STOPPED", tenant).at(0);
  auto legacy = Http("POST", Url("/backend/lambda-instances/" + seeded + "/start/"),
                     {"X-API-Key: " + key, "X-Request-Id: audit-legacy-1"});
  ASSERT_EQ(legacy.status, 202) << legacy.body;

  // The instance's history entry.
  auto events = Json(Http("GET", Url("/api/lambda-instances/" + id + "/events/"), With(key)).body);
  ASSERT_TRUE(events.HasMember("data"));
  const auto& first = events["data"][0];
  ASSERT_TRUE(first.HasMember("actor")) << "history entry without actor";
  EXPECT_EQ(std::string(first["actor"]["key_id"].GetString()), key_id);
  EXPECT_STREQ(first["actor"]["key_name"].GetString(), "deployer");
  EXPECT_STREQ(first["client"].GetString(), "127.0.0.1");
  EXPECT_STREQ(first["dialect"].GetString(), "service");
  EXPECT_STREQ(first["request_id"].GetString(), "audit-create-1");

  // The tenant's trail: its two actions, oldest first, and none of the other tenant's.
  rapidjson::Document trail;
  ASSERT_TRUE(stack_->WaitFor([&] {
    trail = Audit(key, "?since=2000-01-01T00:00:00Z");
    return trail["entries"].Size() >= 2;
  }));
  ASSERT_EQ(trail["entries"].Size(), 2U);
  const auto& c = trail["entries"][0];
  EXPECT_STREQ(c["instance_id"].GetString(), id.c_str());
  EXPECT_STREQ(c["action"].GetString(), "create");
  EXPECT_EQ(std::string(c["actor"]["key_id"].GetString()), key_id);
  EXPECT_STREQ(c["actor"]["key_name"].GetString(), "deployer");
  EXPECT_STREQ(c["client"].GetString(), "127.0.0.1");
  EXPECT_STREQ(c["request_id"].GetString(), "audit-create-1");
  EXPECT_STREQ(c["dialect"].GetString(), "service");
  const auto& s = trail["entries"][1];
  EXPECT_STREQ(s["instance_id"].GetString(), seeded.c_str());
  EXPECT_STREQ(s["action"].GetString(), "start");
  EXPECT_STREQ(s["request_id"].GetString(), "audit-legacy-1");
  EXPECT_STREQ(s["dialect"].GetString(), "legacy");
  EXPECT_TRUE(trail["next"].IsNull());
  for (const auto& e : trail["entries"].GetArray()) {
    EXPECT_STRNE(e["instance_id"].GetString(), other_id.c_str());
  }
  // The other tenant sees its own only.
  auto theirs = Audit(other);
  ASSERT_EQ(theirs["entries"].Size(), 1U);
  EXPECT_STREQ(theirs["entries"][0]["actor"]["key_name"].GetString(), "intruder");

  // Pages: limit, then after.
  auto page = Audit(key, "?limit=1");
  ASSERT_EQ(page["entries"].Size(), 1U);
  ASSERT_TRUE(page["next"].IsString());
  auto rest = Audit(key, std::string("?limit=1&after=") + page["next"].GetString());
  ASSERT_EQ(rest["entries"].Size(), 1U);
  EXPECT_STREQ(rest["entries"][0]["instance_id"].GetString(), seeded.c_str());
  // A since after both: nothing. A bad since, limit or after: 400.
  EXPECT_EQ(Audit(key, "?since=2999-01-01T00:00:00Z")["entries"].Size(), 0U);
  for (const char* bad :
       {"?since=yesterday", "?since=2026-13-01T00:00:00Z", "?limit=0", "?limit=5000", "?after=x"}) {
    auto r = Http("GET", Url(std::string("/api/audit/") + bad), With(key));
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
  }
}

}  // namespace
}  // namespace lambda

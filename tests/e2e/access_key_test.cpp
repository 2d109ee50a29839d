// End to end for access key pairs (SPEC §3, §4.3): a key made with the real lambdactl, then
// requests exactly as the Zenlayer SDK's default credential sends them (signed ZC2-HMAC-SHA256
// by tests/e2e/zc2_sign.py, written from the SDK's algorithm) to the real shim. Every refused
// request is 401 AUTHENTICATION_FAILED in the Zenlayer shape and changes nothing.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <ctime>
#include <sstream>

#include "lambda/redis/keys.h"
#include "support.h"

namespace lambda {
namespace {

using testing::EnvOr;
using testing::Http;
using testing::HttpResponse;
using testing::Json;
using testing::RunCommand;
using testing::Stack;

struct AccessKey {
  std::string id;
  std::string secret;
};

/// A request as the SDK builds it: its headers (signed) and body.
struct SdkRequest {
  std::vector<std::string> headers;
  std::string body;
};

class AccessKeys : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack(Stack::Options{1, {}, {}});
    key_ = stack_->NewKey(kTenant);
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }

  static std::string Ctl(const std::string& args) {
    return EnvOr("LAMBDA_CTL_BIN") + " --redis-url '" + stack_->redis_url() + "' --redis-prefix " +
           stack_->redis_prefix() + " " + args;
  }
  /// `lambdactl accesskey create`: two lines, the id and the secret.
  static AccessKey Create(const std::string& name) {
    auto run = RunCommand(Ctl("accesskey create --tenant " + std::string(kTenant) + " --name " +
                              name + " --server-key-file " + stack_->server_key_file()));
    EXPECT_EQ(run.rc, 0);
    AccessKey k;
    std::istringstream lines(run.out);
    std::getline(lines, k.id);
    std::getline(lines, k.secret);
    EXPECT_EQ(k.id.rfind("AK", 0), 0U) << run.out;
    EXPECT_GE(k.secret.size(), 43U) << run.out;
    return k;
  }

  /// What the SDK sends for `action` on `ids` with `key`, its timestamp `age_s` in the past.
  /// By default each request of a test is dated a second before the one before it, as if they
  /// had been a second apart: the SDK signs neither the action nor the path, so two different
  /// requests with the same body signed in the same second carry the same signature, and the
  /// second is refused as a replay (ACapturedSignatureIsAcceptedOnlyForTheSameRequest).
  static SdkRequest Signed(const AccessKey& key, const std::string& action, const std::string& ids,
                           int64_t age_s = kNextSecond) {
    const auto now = static_cast<int64_t>(std::time(nullptr));
    if (first_s_ == 0) first_s_ = now;
    const std::string ts =
        std::to_string(age_s == kNextSecond ? first_s_ - seconds_++ : now - age_s);
    SdkRequest r;
    r.body = ids.empty() ? "{}" : R"({"instanceIds": [")" + ids + R"("]})";
    const std::string host = "127.0.0.1:" + std::to_string(stack_->port());
    auto sign =
        RunCommand("ZC2_ID='" + key.id + "' ZC2_SECRET='" + key.secret + "' ZC2_HOST='" + host +
                   "' ZC2_TS='" + ts + "' ZC2_BODY='" + r.body + "' /usr/bin/python3 " +
                   EnvOr("LAMBDA_SOURCE_DIR") + "/tests/e2e/zc2_sign.py");
    EXPECT_EQ(sign.rc, 0);
    std::string authorization = sign.out.substr(0, sign.out.find('\n'));
    r.headers = {"x-zc-version: 2023-03-13",
                 "x-zc-service: vm",
                 "x-zc-action: " + action,
                 "x-zc-sdk-version: SDK_PYTHON_2.0.69",
                 "x-zc-sdk-lang: Python",
                 "Content-Type: application/json",
                 "x-zc-signature-method: ZC2-HMAC-SHA256",
                 "x-zc-timestamp: " + ts,
                 "Authorization: " + authorization};
    return r;
  }
  static HttpResponse Send(const SdkRequest& r, const std::string& path = "/api/v2/vm") {
    return Http("POST", stack_->url() + path, r.headers, r.body);
  }
  /// The same request with one header replaced.
  static SdkRequest With(SdkRequest r, const std::string& name, const std::string& value) {
    for (auto& h : r.headers) {
      if (h.rfind(name + ":", 0) == 0) h = name + ": " + value;
    }
    return r;
  }
  static std::string Described(const AccessKey& key, const std::string& id) {
    auto r = Send(Signed(key, "DescribeInstancesStatus", id));
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return "";
    auto d = Json(r.body);
    return d["response"]["dataSet"][0]["instanceStatus"].GetString();
  }
  static void ExpectRefused(const HttpResponse& r) {
    EXPECT_EQ(r.status, 401) << r.body;
    auto d = Json(r.body);
    ASSERT_TRUE(d.HasMember("code")) << r.body;
    EXPECT_STREQ(d["code"].GetString(), "AUTHENTICATION_FAILED");
    EXPECT_TRUE(d.HasMember("requestId"));
    EXPECT_TRUE(d.HasMember("message"));
  }
  /// The instance's status and generation, as Redis holds them.
  static std::string State(const std::string& id) {
    return stack_->StatusOf(id) + "/" +
           stack_->redis().Cmd({"HGET", redis::keys::Instance(stack_->redis_prefix(), id), "gen"});
  }

  static constexpr char kTenant[] = "zc2";
  static constexpr int64_t kNextSecond = -1000000;
  static inline int64_t first_s_ = 0;  ///< the first request's second; the next go back from it
  static inline int64_t seconds_ = 0;
  static Stack* stack_;
  static std::string key_;
};
Stack* AccessKeys::stack_ = nullptr;
std::string AccessKeys::key_;

TEST_F(AccessKeys, TheSdksSignedStartStopAndDescribeWork) {
  auto key = Create("sdk");
  auto id = stack_->Seed(1, "STARTED", kTenant).at(0);
  EXPECT_EQ(Described(key, id), "RUNNING");
  auto stop = Send(Signed(key, "StopInstances", id));
  ASSERT_EQ(stop.status, 200) << stop.body;
  auto sd = Json(stop.body);
  EXPECT_STREQ(sd["requestId"].GetString(), sd["response"]["requestId"].GetString());
  ASSERT_TRUE(stack_->WaitStatus(id, "STOPPED", std::chrono::seconds(20)));
  EXPECT_EQ(Described(key, id), "STOPPED");
  // Refusals keep the dialect's codes: the key is good, the action is not.
  auto again = Send(Signed(key, "StopInstances", id));
  EXPECT_EQ(again.status, 403) << again.body;
  // With Expect: 100-continue the signature waits for the body it covers.
  auto expect = Signed(key, "StartInstances", id);
  expect.headers.push_back("Expect: 100-continue");
  auto start = Send(expect);
  ASSERT_EQ(start.status, 200) << start.body;
  ASSERT_TRUE(stack_->WaitStatus(id, "STARTED", std::chrono::seconds(20)));
  EXPECT_EQ(Described(key, id), "RUNNING");
  // Another tenant's instance is not found, as with an API key.
  auto other = stack_->Seed(1, "STARTED", "zc2-other").at(0);
  EXPECT_EQ(Send(Signed(key, "StopInstances", other)).status, 404);
  EXPECT_EQ(stack_->StatusOf(other), "STARTED");
}

TEST_F(AccessKeys, ABadSignatureAStaleTimestampAnUnknownIdAreRefusedAndChangeNothing) {
  auto key = Create("refusals");
  auto id = stack_->Seed(1, "STARTED", kTenant).at(0);
  ASSERT_EQ(Described(key, id), "RUNNING");  // the key works
  const std::string before = State(id);

  auto good = Signed(key, "StopInstances", id);
  std::string auth;
  for (const auto& h : good.headers) {
    if (h.rfind("Authorization:", 0) == 0) auth = h.substr(15);
  }
  std::string flipped = auth;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  ExpectRefused(Send(With(good, "Authorization", flipped)));
  ExpectRefused(Send(Signed(AccessKey{key.id, key.secret + "x"}, "StopInstances", id)));
  // Six minutes old, and six minutes ahead: outside the ±5 minute window.
  ExpectRefused(Send(Signed(key, "StopInstances", id, 360)));
  ExpectRefused(Send(Signed(key, "StopInstances", id, -360)));
  ExpectRefused(Send(Signed(AccessKey{"AK00000000000000000000", key.secret}, "StopInstances", id)));
  // A signed request elsewhere than the Zenlayer route is not accepted.
  EXPECT_EQ(Http("GET", stack_->url() + "/api/lambda-instances/", good.headers).status, 401);
  EXPECT_EQ(State(id), before);
  EXPECT_EQ(Described(key, id), "RUNNING");
}

TEST_F(AccessKeys, ACapturedSignatureIsAcceptedOnlyForTheSameRequest) {
  auto key = Create("replay");
  auto id = stack_->Seed(1, "STARTED", kTenant).at(0);
  auto describe = Signed(key, "DescribeInstancesStatus", id);
  ASSERT_EQ(Send(describe).status, 200);
  const std::string before = State(id);
  // The SDK signs neither the action nor the path: the same signature on another action, or on
  // another path, is a replay.
  ExpectRefused(Send(With(describe, "x-zc-action", "StopInstances")));
  ExpectRefused(Send(describe, "/api/v2/vm/"));
  EXPECT_EQ(State(id), before);
  // An honest repeat (the byte-identical request) is answered again.
  auto repeat = Send(describe);
  EXPECT_EQ(repeat.status, 200) << repeat.body;
  EXPECT_EQ(State(id), "STARTED/" + before.substr(before.find('/') + 1));
}

TEST_F(AccessKeys, ARevokedKeyIsRefusedAndTheSecretIsNeverStoredInTheClear) {
  auto key = Create("revoked");
  auto keep = Create("kept");
  auto id = stack_->Seed(1, "STARTED", kTenant).at(0);
  ASSERT_EQ(Described(key, id), "RUNNING");
  // Redis holds the secret only sealed.
  auto fields =
      stack_->redis().Array({"HGETALL", redis::keys::AccessKey(stack_->redis_prefix(), key.id)});
  ASSERT_FALSE(fields.empty());
  for (const auto& f : fields) EXPECT_EQ(f.find(key.secret), std::string::npos) << f;
  auto list = RunCommand(Ctl("accesskey list --tenant " + std::string(kTenant)));
  EXPECT_EQ(list.rc, 0);
  EXPECT_NE(list.out.find(key.id), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(keep.id), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find(key.secret), std::string::npos) << list.out;

  EXPECT_EQ(RunCommand(Ctl("accesskey revoke " + key.id)).rc, 0);
  const std::string before = State(id);
  ExpectRefused(Send(Signed(key, "StopInstances", id)));
  EXPECT_EQ(State(id), before);
  EXPECT_EQ(Described(keep, id), "RUNNING");
  EXPECT_EQ(RunCommand(Ctl("accesskey revoke " + key.id)).rc, 1);
  list = RunCommand(Ctl("accesskey list --tenant " + std::string(kTenant)));
  EXPECT_EQ(list.out.find(key.id), std::string::npos) << list.out;
  // Nothing in the shim's log names a secret.
  EXPECT_EQ(stack_->shim().Log().find(keep.secret), std::string::npos);
}

TEST_F(AccessKeys, LambdactlNeedsTheServerKeyFileAndRefusesAnOpenOne) {
  auto make = "accesskey create --tenant " + std::string(kTenant);
  EXPECT_EQ(RunCommand("env -u LAMBDA_SERVER_KEY_FILE " + Ctl(make)).rc, 2);
  std::string open_key = stack_->logs_dir() + "/open.key";
  ASSERT_EQ(
      std::system(("head -c 32 /dev/urandom >" + open_key + " && chmod 644 " + open_key).c_str()),
      0);
  auto refused = RunCommand(Ctl(make + " --server-key-file " + open_key));
  EXPECT_EQ(refused.rc, 1);
  EXPECT_TRUE(refused.out.empty()) << refused.out;  // no id, no secret
  EXPECT_EQ(
      RunCommand(Ctl(make + " --name 'bad|name' --server-key-file " + stack_->server_key_file()))
          .rc,
      2);
  // A key sealed under another server key does not open on this shim.
  std::string other_key = stack_->logs_dir() + "/other.key";
  ASSERT_EQ(std::system(("(umask 077 && head -c 32 /dev/urandom >" + other_key + ")").c_str()), 0);
  auto run = RunCommand(Ctl(make + " --server-key-file " + other_key));
  ASSERT_EQ(run.rc, 0);
  AccessKey foreign;
  std::istringstream lines(run.out);
  std::getline(lines, foreign.id);
  std::getline(lines, foreign.secret);
  auto good = Create("good");
  auto id = stack_->Seed(1, "STARTED", kTenant).at(0);
  ASSERT_EQ(Described(good, id), "RUNNING");
  ExpectRefused(Send(Signed(foreign, "DescribeInstancesStatus", id)));
}

TEST_F(AccessKeys, TheShimRefusesToStartWithAServerKeyFileOthersCanRead) {
  std::string open_key = stack_->logs_dir() + "/shim-open.key";
  ASSERT_EQ(
      std::system(("head -c 32 /dev/urandom >" + open_key + " && chmod 640 " + open_key).c_str()),
      0);
  auto argv = stack_->ShimArgv();
  std::string cmd = "timeout 20";
  for (const auto& a : argv) cmd += " '" + a + "'";
  // The last --server-key-file wins over the stack's own.
  auto run = RunCommand(cmd + " --http-port 0 --server-key-file " + open_key + " 2>&1");
  EXPECT_EQ(run.rc, 1) << run.out;
  EXPECT_NE(run.out.find(open_key), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("chmod 600"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace lambda

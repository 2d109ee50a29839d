// End to end: SPEC §3 quotas and limits per tenant, and revocation reaching what is open, on the
// real api-shim and worker with the shim's own defaults (not the harness's raised ones): a
// tenant at its cap of held waits while another's wait is served, a batch paying per item,
// the 429 headers in every dialect, the quota of live instances, the routes without a key
// limited per address, and a revoked key's stream and wait closed.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "lambda/redis/keys.h"
#include "lambda/util/util.h"
#include "sse_client.h"
#include "support.h"

namespace lambda {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::CreateBody;
using testing::Http;
using testing::SseClient;
using testing::Stack;

class TenantLimits : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Stack::Options o{1, {}, {}};
    o.production_limits = true;
    stack_ = new Stack(o);
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  static std::string Ctl(const std::string& args) {
    return testing::EnvOr("LAMBDA_CTL_BIN") + " --redis-url '" + stack_->redis_url() +
           "' --redis-prefix " + stack_->redis_prefix() + " " + args;
  }
  /// lambdactl tenant set T ARGS; its output (tenant show).
  static std::string Set(const std::string& tenant, const std::string& args) {
    auto r = testing::RunCommand(Ctl("tenant set " + tenant + " " + args));
    EXPECT_EQ(r.rc, 0) << r.out;
    return r.out;
  }
  static std::string Api(const std::string& rest) {
    return stack_->url() + "/api/lambda-instances/" + rest;
  }
  static std::string WaitPath(const std::string& id, int timeout_s) {
    return "/api/lambda-instances/" + id +
           "/status/?wait_for=DESTROYED&timeout=" + std::to_string(timeout_s);
  }
  static Stack* stack_;
};
Stack* TenantLimits::stack_ = nullptr;

TEST_F(TenantLimits, ATenantAtItsWatcherCapDoesNotStopAnotherTenantsWait) {
  const std::string a = stack_->NewKey("watch-a"), b = stack_->NewKey("watch-b");
  Set("watch-a", "--max-watchers 3");
  auto a_ids = stack_->Seed(1, "STOPPED", "watch-a");
  auto b_ids = stack_->Seed(1, "STOPPED", "watch-b");
  // Tenant A holds three waits and a stream would be its fourth watch.
  std::vector<std::unique_ptr<SseClient>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<SseClient>(stack_->port(), WaitPath(a_ids[0], 30),
                                               std::vector<std::string>{"X-API-Key: " + a}));
  }
  ASSERT_TRUE(stack_->WaitFor([&] {
    return Http("GET", stack_->url() + "/metrics").body.find("lambda_watch_waiters 3") !=
           std::string::npos;
  }));
  SseClient fourth(stack_->port(), "/api/lambda-instances/" + a_ids[0] + "/events/",
                   {"X-API-Key: " + a, "Accept: text/event-stream"});
  ASSERT_EQ(fourth.ReadHead(seconds(5)), 429) << fourth.head();
  EXPECT_NE(fourth.head().find("RateLimit-Policy: \"watchers\";q=3"), std::string::npos)
      << fourth.head();
  EXPECT_NE(fourth.head().find("Retry-After: 1"), std::string::npos) << fourth.head();
  auto refused = Http("GET", stack_->url() + WaitPath(a_ids[0], 5), {"X-API-Key: " + a});
  EXPECT_EQ(refused.status, 429) << refused.body;
  // Tenant B's wait is held and served: its timeout answers it with the current status.
  const auto t0 = std::chrono::steady_clock::now();
  auto served = Http("GET", stack_->url() + WaitPath(b_ids[0], 1), {"X-API-Key: " + b});
  const auto ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(served.status, 200) << served.body;
  EXPECT_EQ(served.headers["x-wait-reached"], "false");
  EXPECT_GE(ms, 900);  // held for its timeout, not refused
  std::cout << "tenant A holds 3 of 3 watches; tenant B's wait_for (timeout=1) answered "
            << served.status << " after " << ms << " ms\n";
  auto metrics = Http("GET", stack_->url() + "/metrics").body;
  EXPECT_NE(metrics.find("lambda_limit_refusals_total{kind=\"watchers\"} 2"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("lambda_watch_tenant_max 3"), std::string::npos);
}

TEST_F(TenantLimits, ABatchOfNCostsNTokensSharedByEveryKeyOfTheTenant) {
  const std::string k1 = stack_->NewKey("batch"), k2 = stack_->NewKey("batch");
  Set("batch", "--rate 1 --burst 10");
  std::string ids;
  for (int i = 0; i < 10; ++i) ids += std::string(i ? "," : "") + "\"" + util::NewUuid() + "\"";
  auto batch = Http("POST", stack_->url() + "/api/lambda-instances/actions",
                    {"X-API-Key: " + k1, "Content-Type: application/json"},
                    R"({"action":"stop","ids":[)" + ids + "]}");
  EXPECT_EQ(batch.status, 202) << batch.body;  // ten tokens, each item answered 404
  // The bucket is the tenant's: the other key finds it empty.
  auto next = Http("GET", Api(""), {"X-API-Key: " + k2});
  EXPECT_EQ(next.status, 429) << next.body;
  EXPECT_EQ(next.headers["ratelimit-policy"], "\"rate\";q=10;w=10");
}

TEST_F(TenantLimits, RefusalsCarryTheRateLimitHeadersInEachDialectsShape) {
  const std::string key = stack_->NewKey("dialects");
  Set("dialects", "--rate 1 --burst 1");
  struct Case {
    std::string method, path;
    std::vector<std::string> headers;
    std::string body, shape;
  };
  const std::vector<Case> cases{
      {"GET", "/api/lambda-instances/", {}, "", R"("errors":[{"status":429)"},
      {"POST",
       "/api/v2/vm",
       {"X-ZC-Action: DescribeInstancesStatus"},
       "{}",
       R"("code":"REQUEST_LIMIT_EXCEEDED")"},
      {"GET", "/v0/pipelines", {}, "", R"("error_code":"TooManyRequests")"},
      {"GET", "/backend/lambda-instances", {}, "", R"("code":429)"},
  };
  for (const auto& c : cases) {
    auto headers = c.headers;
    headers.push_back("X-API-Key: " + key);
    // The first takes the one token (or finds it taken), the second is refused.
    (void)Http(c.method, stack_->url() + c.path, headers, c.body);
    auto r = Http(c.method, stack_->url() + c.path, headers, c.body);
    ASSERT_EQ(r.status, 429) << c.path << " " << r.body;
    EXPECT_NE(r.body.find(c.shape), std::string::npos) << c.path << " " << r.body;
    EXPECT_EQ(r.headers["ratelimit-policy"], "\"rate\";q=1;w=1") << c.path;
    EXPECT_EQ(r.headers["ratelimit"], "\"rate\";r=0;t=1") << c.path;
    EXPECT_EQ(r.headers["retry-after"], "1") << c.path;
    std::this_thread::sleep_for(milliseconds(1100));  // the next case starts with a token
  }
}

TEST_F(TenantLimits, ACreatePastTheQuotaIsRefusedAndChangesNothing) {
  const std::string key = stack_->NewKey("quota");
  EXPECT_NE(Set("quota", "--max-instances 2").find("max_instances 2;"), std::string::npos);
  std::vector<std::string> h{"X-API-Key: " + key, "Content-Type: application/json"};
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Http("POST", Api(""), h, CreateBody("q" + std::to_string(i))).status, 202);
  }
  auto& redis = stack_->redis();
  const auto prefix = stack_->redis_prefix();
  const auto seqs = redis.Int({"HLEN", redis::keys::SeqMap(prefix)});
  auto r = Http("POST", Api(""), h, CreateBody("third"));
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.headers["ratelimit-policy"], "\"instances\";q=2");
  EXPECT_NE(r.body.find("quota of 2 live instances"), std::string::npos) << r.body;
  auto legacy =
      Http("POST", stack_->url() + "/backend/create_lambda_instance", h, CreateBody("legacy"));
  EXPECT_EQ(legacy.status, 429) << legacy.body;
  EXPECT_EQ(redis.Int({"ZCARD", redis::keys::TenantLive(prefix, "quota")}), 2);
  EXPECT_EQ(redis.Int({"ZCARD", redis::keys::TenantIds(prefix, "quota")}), 2);
  EXPECT_EQ(redis.Int({"HLEN", redis::keys::SeqMap(prefix)}), seqs);
  // Raised: created again.
  Set("quota", "--max-instances 3");
  EXPECT_EQ(Http("POST", Api(""), h, CreateBody("third")).status, 202);
  auto show = testing::RunCommand(Ctl("tenant show quota"));
  EXPECT_NE(show.out.find("live instances now 3"), std::string::npos) << show.out;
}

TEST_F(TenantLimits, AnActionPastTheTenantsActionsInFlightIsRefused) {
  const std::string key = stack_->NewKey("inflight"), other = stack_->NewKey("inflight-b");
  EXPECT_NE(Set("inflight", "--max-inflight 1").find("max_inflight 1 "), std::string::npos);
  std::vector<std::string> h{"X-API-Key: " + key, "Content-Type: application/json"};
  auto slow = Http("POST", Api(""), h, CreateBody("slow", R"("simulate":{"step_ms":1500})"));
  ASSERT_EQ(slow.status, 202) << slow.body;
  const std::string id = testing::Json(slow.body)["data"][0]["id"].GetString();
  auto refused = Http("POST", Api(""), h, CreateBody("second"));
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(refused.headers["ratelimit-policy"], "\"inflight\";q=1");
  EXPECT_NE(refused.body.find("actions in flight"), std::string::npos) << refused.body;
  EXPECT_EQ(
      stack_->redis().Int({"ZCARD", redis::keys::TenantIds(stack_->redis_prefix(), "inflight")}),
      1);  // nothing made
  // Another tenant is not held back by this one's actions.
  EXPECT_EQ(Http("POST", Api(""), {"X-API-Key: " + other, "Content-Type: application/json"},
                 CreateBody("other"))
                .status,
            202);
  ASSERT_TRUE(stack_->WaitStatus(id, "STARTED", seconds(30)));
  // Settled: its place is free again.
  EXPECT_TRUE(stack_->WaitFor(
      [&] { return Http("POST", Api(id), h, R"({"action":"stop"})").status == 202; }));
}

TEST_F(TenantLimits, RoutesWithoutAKeyAreLimitedPerAddress) {
  Stack::Options o{0, {"--address-rate-limit-per-s", "1", "--address-rate-limit-burst", "3"}, {}};
  o.production_limits = true;
  Stack stack(o);
  int refused = 0;
  testing::HttpResponse last;
  for (int i = 0; i < 8; ++i) {
    auto r = Http("GET", stack.url() + "/healthz");
    if (r.status == 429) {
      ++refused;
      last = r;
    }
  }
  EXPECT_GE(refused, 4);
  EXPECT_EQ(last.headers["ratelimit-policy"], "\"address\";q=3;w=3");
  EXPECT_FALSE(last.headers["retry-after"].empty());
  // A key that does not check counts as none: guessing keys is limited too.
  std::this_thread::sleep_for(seconds(3));  // the bucket full again
  int unauthorized = 0;
  refused = 0;
  for (int i = 0; i < 8; ++i) {
    auto r = Http("GET", stack.url() + "/api/lambda-instances/",
                  {"X-API-Key: guess" + std::to_string(i)});
    unauthorized += r.status == 401;
    refused += r.status == 429;
  }
  EXPECT_LE(unauthorized, 4);
  EXPECT_GE(refused, 4);
}

TEST_F(TenantLimits, RevokingAKeyClosesItsStreamsAndHeldWaits) {
  const std::string key = stack_->NewKey("revoke"), other = stack_->NewKey("revoke");
  auto ids = stack_->Seed(1, "STOPPED", "revoke");
  SseClient stream(stack_->port(), "/api/lambda-instances/" + ids[0] + "/events/",
                   {"X-API-Key: " + key, "Accept: text/event-stream"});
  ASSERT_EQ(stream.ReadHead(seconds(5)), 200) << stream.head();
  ASSERT_TRUE(stream.Next(seconds(5)).has_value());  // the current status
  SseClient wait(stack_->port(), WaitPath(ids[0], 60), {"X-API-Key: " + key});
  SseClient kept(stack_->port(), "/api/lambda-instances/" + ids[0] + "/events/",
                 {"X-API-Key: " + other, "Accept: text/event-stream"});
  ASSERT_EQ(kept.ReadHead(seconds(5)), 200);
  ASSERT_TRUE(stack_->WaitFor([&] {
    return Http("GET", stack_->url() + "/metrics").body.find("lambda_watch_waiters 1") !=
           std::string::npos;
  }));
  ASSERT_EQ(testing::RunCommand(Ctl("apikey revoke " + key)).rc, 0);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(stream.Closed(seconds(5)));  // the shims here cache keys 0 ms
  EXPECT_EQ(wait.ReadHead(seconds(5)), 401) << wait.head();
  const auto ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "revoked key: its stream closed and its wait answered 401 within " << ms << " ms\n";
  EXPECT_FALSE(kept.Closed(milliseconds(1000)));  // another key's stream stays
}

TEST_F(TenantLimits, WithTheDefaultKeyCacheARevokedKeysStreamClosesWithinFiveSeconds) {
  Stack::Options o{0, {"--key-cache-ms", "2000"}, {}};
  o.production_limits = true;
  Stack stack(o);
  const std::string key = stack.NewKey("revoke-cached");
  auto ids = stack.Seed(1, "STOPPED", "revoke-cached");
  SseClient stream(stack.port(), "/api/lambda-instances/" + ids[0] + "/events/",
                   {"X-API-Key: " + key, "Accept: text/event-stream"});
  ASSERT_EQ(stream.ReadHead(seconds(5)), 200) << stream.head();
  ASSERT_TRUE(stream.Next(seconds(5)).has_value());
  auto revoke =
      testing::RunCommand(testing::EnvOr("LAMBDA_CTL_BIN") + " --redis-url '" + stack.redis_url() +
                          "' --redis-prefix " + stack.redis_prefix() + " apikey revoke " + key);
  ASSERT_EQ(revoke.rc, 0);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(stream.Closed(seconds(6)));
  const auto ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "--key-cache-ms 2000: the revoked key's stream closed after " << ms << " ms\n";
  EXPECT_LE(ms, 5000);  // SPEC §3: within the key cache's lifetime, at most 5 s
}

/// calls= of `command` in INFO commandstats (the test's Redis, all of it).
long long CommandCalls(testing::SyncRedis& redis, const std::string& command) {
  const std::string info = redis.Cmd({"INFO", "commandstats"});
  const std::string tag = "cmdstat_" + command + ":calls=";
  auto at = info.find(tag);
  return at == std::string::npos ? 0 : std::atoll(info.c_str() + at + tag.size());
}

TEST_F(TenantLimits, EveryStreamOfAnInstanceSharesOneReadPerChange) {
  const std::string key = stack_->NewKey("fanout");
  auto ids = stack_->Seed(1, "STOPPED", "fanout");
  constexpr int kStreams = 200;
  std::vector<std::unique_ptr<SseClient>> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(std::make_unique<SseClient>(
        stack_->port(), "/api/lambda-instances/" + ids[0] + "/events/",
        std::vector<std::string>{"X-API-Key: " + key, "Accept: text/event-stream"}));
  }
  for (auto& s : streams) {
    ASSERT_EQ(s->ReadHead(seconds(10)), 200);
    ASSERT_TRUE(s->Next(seconds(10)).has_value());  // the current status
  }
  const size_t entries_before = stack_->History(ids[0]).size();
  const long long xrange_before = CommandCalls(stack_->redis(), "xrange");
  auto r = Http("POST", Api(ids[0]), {"X-API-Key: " + key, "Content-Type: application/json"},
                R"({"action":"start"})");
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_TRUE(stack_->WaitStatus(ids[0], "STARTED", seconds(20)));
  const size_t changes = stack_->History(ids[0]).size() - entries_before;
  for (auto& s : streams) {
    for (size_t i = 0; i < changes; ++i) ASSERT_TRUE(s->Next(seconds(10)).has_value());
  }
  const long long reads = CommandCalls(stack_->redis(), "xrange") - xrange_before;
  std::cout << kStreams << " streams of one instance, " << changes << " status changes: " << reads
            << " XRANGE reads (" << kStreams * static_cast<long long>(changes)
            << " with one read per stream per change)\n";
  EXPECT_GT(changes, 0u);
  // One read per change, or two when a change lands while its read is out.
  EXPECT_LE(reads, 2 * static_cast<long long>(changes));
}

}  // namespace
}  // namespace lambda

// End to end: SPEC §8's bounds on the shared Redis and on what tenants are shown. A full Redis
// (maxmemory, noeviction) refuses writes: 503, nothing changed, and it works again once memory
// frees; a flood of batches with Idempotency-Keys keeps Redis within a few MB; Redis's, Lua's and
// a hook's own words reach operators (logs, ledger) under an error id, never tenants.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <thread>

#include "lambda/redis/keys.h"
#include "lambda/util/util.h"
#include "support.h"

namespace lambda {
namespace {

using std::chrono::seconds;
using testing::CreateBody;
using testing::Http;
using testing::Json;
using testing::Process;
using testing::Stack;
using testing::SyncRedis;

/// A number of INFO memory. (Plain string search: GCC 12's <regex> trips -Wmaybe-uninitialized
/// under the sanitizer build.)
long long Info(SyncRedis& r, const std::string& field) {
  const std::string info = "\n" + r.Cmd({"INFO", "memory"});
  const std::string label = "\n" + field + ":";
  const size_t at = info.find(label);
  if (at == std::string::npos) return -1;
  size_t end = at + label.size();
  while (end < info.size() && std::isdigit(static_cast<unsigned char>(info[end])) != 0) ++end;
  if (end == at + label.size()) return -1;
  return std::stoll(info.substr(at + label.size(), end - at - label.size()));
}
long long UsedMemory(SyncRedis& r) { return Info(r, "used_memory"); }

/// The error id a tenant was shown ("error id <uuid>"), or "".
std::string ErrorIdIn(const std::string& text) {
  static const std::string kLabel = "error id ";
  for (size_t at = text.find(kLabel); at != std::string::npos; at = text.find(kLabel, at + 1)) {
    const std::string id = text.substr(at + kLabel.size(), 36);
    const bool uuid_shaped = id.size() == 36 && std::all_of(id.begin(), id.end(), [](char c) {
                               return c == '-' ||
                                      std::isdigit(static_cast<unsigned char>(c)) != 0 ||
                                      (c >= 'a' && c <= 'f');
                             });
    if (uuid_shaped) return id;
  }
  return "";
}

/// No Redis, Lua or hook wording in what a tenant reads.
void ExpectNoOperatorText(const std::string& body) {
  for (const char* word :
       {"OOM", "maxmemory", "WRONGTYPE", "user_script", "ERR ", "Lua", "hunter2", "10.1.2.3"}) {
    EXPECT_EQ(body.find(word), std::string::npos) << word << " in " << body;
  }
}

TEST(RedisBounds, TheTestRedisHasAMemoryLimitAndNeverEvicts) {
  SyncRedis r(testing::EnvOr("LAMBDA_TEST_REDIS_URL"));
  auto policy = r.Array({"CONFIG", "GET", "maxmemory-policy"});
  ASSERT_EQ(policy.size(), 2u);
  EXPECT_EQ(policy[1], "noeviction");
  auto limit = r.Array({"CONFIG", "GET", "maxmemory"});
  ASSERT_EQ(limit.size(), 2u);
  EXPECT_GT(std::stoll(limit[1]), 0);
}

/// A private redis-server with a memory limit (noeviction), on a free port.
class SmallRedis {
 public:
  explicit SmallRedis(const std::string& maxmemory = "24mb") : port_(testing::FreePort()) {
    dir_ = "/tmp/lambda-test-logs/redis-small-" + std::to_string(port_);
    std::system(("mkdir -p " + dir_).c_str());
    server_ = std::make_unique<Process>(
        std::vector<std::string>{"redis-server", "--port", std::to_string(port_), "--bind",
                                 "127.0.0.1", "--dir", dir_, "--save", "", "--appendonly", "no",
                                 "--maxmemory", maxmemory, "--maxmemory-policy", "noeviction"},
        dir_ + "/redis.log");
    testing::WaitFor([&] { return SyncRedis(url()).Cmd({"PING"}) == "PONG"; }, seconds(10));
  }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  std::string dir_;
  std::unique_ptr<Process> server_;
};

/// Makes Redis full: 4 MB of filler, then maxmemory set below what it uses (noeviction keeps all
/// of it), so every write is refused until the filler goes (Free). Filling until a write is
/// refused is not enough: the refused command's own buffer is freed after it, and the next small
/// write fits again. Returns how many fillers it wrote, or -1 when a small write still passed.
int Fill(SyncRedis& r, const std::string& prefix) {
  const std::string chunk(64 * 1024, 'x');
  const int count = 64;
  for (int i = 0; i < count; ++i) r.Cmd({"SET", prefix + "filler:" + std::to_string(i), chunk});
  long long used = UsedMemory(r);
  r.Cmd({"CONFIG", "SET", "maxmemory", std::to_string(used - 1024 * 1024)});
  if (r.Cmd({"SET", prefix + "probe", "x"}).rfind("OOM", 0) != 0) return -1;
  return count;
}
void Free(SyncRedis& r, const std::string& prefix, int count) {
  for (int i = 0; i < count; ++i) r.Cmd({"DEL", prefix + "filler:" + std::to_string(i)});
}

TEST(RedisFull, WritesAre503AndChangeNothingUntilMemoryFrees) {
  SmallRedis small;
  Stack stack(Stack::Options{1, {}, {}}, small.url());
  const std::string key = stack.NewKey("full");
  auto ids = stack.Seed(1, "STOPPED", "full");
  const std::string id = ids[0];
  SyncRedis& r = stack.redis();
  const std::string inst = redis::keys::Instance(stack.redis_prefix(), id);
  const std::string tenant_ids = redis::keys::TenantIds(stack.redis_prefix(), "full");
  auto before = r.Cmd({"HGETALL", inst});
  long long history = r.Int({"XLEN", redis::keys::History(stack.redis_prefix(), id)});
  long long indexed = r.Int({"ZCARD", tenant_ids});

  int filled = Fill(r, stack.redis_prefix());
  ASSERT_GT(filled, 0) << "Redis never refused a write";
  std::vector<std::string> h{"X-API-Key: " + key, "Content-Type: application/json"};
  auto create = Http("POST", stack.url() + "/api/lambda-instances/", h, CreateBody("while-full"));
  EXPECT_EQ(create.status, 503) << create.body;
  EXPECT_EQ(create.headers["retry-after"], "1");
  ExpectNoOperatorText(create.body);
  const std::string error_id = ErrorIdIn(create.body);
  EXPECT_FALSE(error_id.empty()) << create.body;
  EXPECT_EQ(create.headers["x-error-id"], error_id);
  auto start = Http("POST", stack.url() + "/api/lambda-instances/" + id + "/",
                    {"X-API-Key: " + key}, "action=start");
  EXPECT_EQ(start.status, 503) << start.body;
  ExpectNoOperatorText(start.body);
  // With an Idempotency-Key too: the claim is refused first, nothing is kept.
  auto keyed = Http("POST", stack.url() + "/api/lambda-instances/" + id + "/",
                    {"X-API-Key: " + key, "Idempotency-Key: full-1"}, "action=start");
  EXPECT_EQ(keyed.status, 503) << keyed.body;
  // Nothing changed: the instance, its history, the tenant's index; and nothing ran.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(r.Cmd({"HGETALL", inst}), before);
  EXPECT_EQ(r.Int({"XLEN", redis::keys::History(stack.redis_prefix(), id)}), history);
  EXPECT_EQ(r.Int({"ZCARD", tenant_ids}), indexed);
  EXPECT_EQ(stack.StatusOf(id), "STOPPED");
  // The operator's log has the text under the id the tenant was shown.
  std::string log = stack.shim().Log();
  auto at = log.find(error_id);
  ASSERT_NE(at, std::string::npos);
  EXPECT_NE(log.substr(at, log.find('\n', at) - at).find("OOM"), std::string::npos);

  Free(r, stack.redis_prefix(), filled);
  auto again = Http("POST", stack.url() + "/api/lambda-instances/" + id + "/",
                    {"X-API-Key: " + key, "Idempotency-Key: full-1"}, "action=start");
  EXPECT_EQ(again.status, 202) << again.body;
  auto created = Http("POST", stack.url() + "/api/lambda-instances/", h, CreateBody("after-full"));
  ASSERT_EQ(created.status, 202) << created.body;
  EXPECT_TRUE(stack.WaitStatus(id, "STARTED", seconds(20)));
  EXPECT_TRUE(
      stack.WaitStatus(Json(created.body)["data"][0]["id"].GetString(), "STARTED", seconds(20)));
}

TEST(RedisFull, AWorkerWhoseStatusWriteIsRefusedLosesNoAction) {
  SmallRedis small;
  Stack stack(Stack::Options{1, {}, {}}, small.url());
  const std::string key = stack.NewKey("full");
  auto created = Http("POST", stack.url() + "/api/lambda-instances/",
                      {"X-API-Key: " + key, "Content-Type: application/json"},
                      CreateBody("slow", R"("simulate":{"step_ms":400})"));
  ASSERT_EQ(created.status, 202) << created.body;
  const std::string id = Json(created.body)["data"][0]["id"].GetString();
  ASSERT_TRUE(stack.WaitStatus(id, "CLUSTER_CREATED", seconds(20))) << stack.StatusOf(id);
  SyncRedis& r = stack.redis();
  int filled = Fill(r, stack.redis_prefix());
  ASSERT_GT(filled, 0);
  // Past the job's own retries of the write (100 ms doubling, 5 times): it hands the command
  // back to the queue.
  std::this_thread::sleep_for(seconds(4));
  std::string stuck = stack.StatusOf(id);
  EXPECT_NE(stuck, "STARTED");
  Free(r, stack.redis_prefix(), filled);
  EXPECT_TRUE(stack.WaitStatus(id, "STARTED", seconds(90))) << stack.StatusOf(id);
}

TEST(IdempotencyBounds, AFloodOfKeyedBatchesKeepsRedisWithinAFewMegabytes) {
  SmallRedis own("256mb");  // its own: tests running beside it do not blur the figure
  Stack stack(Stack::Options{1, {}, {}}, own.url());
  const std::string key = stack.NewKey("flood");
  SyncRedis& r = stack.redis();
  std::string ids;
  for (int i = 0; i < 1000; ++i) ids += (i ? ",\"" : "\"") + util::NewUuid() + "\"";
  const std::string body = R"({"action":"start","ids":[)" + ids + "]}";
  auto send = [&](const std::string& idem) {
    return Http("POST", stack.url() + "/api/lambda-instances/actions/",
                {"X-API-Key: " + key, "Content-Type: application/json", "Idempotency-Key: " + idem},
                body);
  };
  auto first = send("flood-0");
  ASSERT_EQ(first.status, 202) << first.body.substr(0, 300);
  ASSERT_GT(first.body.size(), 100000u);  // every id named in the answer
  // Redis's slow log keeps the start of each slow command (a 1,000-id batch's reads are): up to
  // 128 entries of a few KB whatever the flood, so it is left out of the figure.
  r.Cmd({"SLOWLOG", "RESET"});
  long long before = UsedMemory(r), clients_before = Info(r, "mem_clients_normal");
  const int requests = 100;
  for (int i = 1; i <= requests; ++i) ASSERT_EQ(send("flood-" + std::to_string(i)).status, 202);
  long long slowlog = UsedMemory(r);
  r.Cmd({"SLOWLOG", "RESET"});
  long long growth = UsedMemory(r) - before;
  slowlog -= growth + before;
  long long clients = Info(r, "mem_clients_normal") - clients_before;
  std::printf(
      "[ figures ] Redis used_memory growth after %d keyed batches of 1,000 ids: %lld B "
      "(of which client buffers %lld B; the slow log took %lld B more)\n",
      requests, growth, clients, slowlog);
  // Kept as is, each answer would take ~130 KB: 13 MB here.
  EXPECT_LT(growth, 5LL * 1000 * 1000);
  EXPECT_LT(growth - clients, requests * 4000LL);
  // A repeat still answers the first answer, byte for byte.
  auto again = send("flood-0");
  EXPECT_EQ(again.status, 202);
  EXPECT_EQ(again.headers["idempotent-replayed"], "true");
  EXPECT_EQ(again.body, first.body);
  // The tenant's records are indexed, with what they are charged.
  EXPECT_EQ(r.Int({"ZCARD", redis::keys::IdempotencyIndex(stack.redis_prefix(), "flood")}),
            requests + 1);
}

TEST(IdempotencyBounds, ATenantKeepsAtMostItsShareAndDropsItsOldestFirst) {
  SmallRedis own("256mb");
  Stack stack(Stack::Options{1, {}, {}}, own.url());
  const std::string key = stack.NewKey("many");
  SyncRedis& r = stack.redis();
  const std::string body = R"({"action":"stop","ids":[")" + util::NewUuid() + "\"]}";
  auto send = [&](int i) {
    return Http("POST", stack.url() + "/api/lambda-instances/actions/",
                {"X-API-Key: " + key, "Content-Type: application/json",
                 "Idempotency-Key: many-" + std::to_string(i)},
                body);
  };
  ASSERT_EQ(send(0).status, 202);
  long long before = UsedMemory(r);
  // Past the 4 MiB a tenant's records may be charged (each ~0.4 KB + 600 B of overhead).
  const int requests = 6000;
  for (int i = 1; i <= requests; ++i) ASSERT_EQ(send(i).status, 202) << i;
  long long growth = UsedMemory(r) - before;
  const std::string index = redis::keys::IdempotencyIndex(stack.redis_prefix(), "many");
  long long kept = r.Int({"ZCARD", index});
  long long charged =
      std::stoll(r.Cmd({"HGET", redis::keys::IdempotencyBytes(stack.redis_prefix(), "many"), "#"}));
  std::printf(
      "[ figures ] %d keyed requests of one tenant: Redis used_memory +%lld B, %lld records kept "
      "(%lld B charged)\n",
      requests + 1, growth, kept, charged);
  EXPECT_LT(growth, 5LL * 1000 * 1000);
  EXPECT_LT(kept, requests);
  EXPECT_LE(charged, 4LL * 1024 * 1024);
  // The newest is replayed; the oldest was dropped, so its repeat is a new request.
  EXPECT_EQ(send(requests).headers["idempotent-replayed"], "true");
  auto oldest = send(0);
  EXPECT_EQ(oldest.status, 202);
  EXPECT_EQ(oldest.headers.count("idempotent-replayed"), 0u);
}

TEST(OperatorText, ARedisErrorReachesTheLogNotTheTenant) {
  Stack stack(Stack::Options{1, {}, {}});
  const std::string key = stack.NewKey("ops");
  const std::string id = util::NewUuid();
  // A key of the wrong type where an instance should be: every read and script on it fails.
  stack.redis().Cmd({"SET", redis::keys::Instance(stack.redis_prefix(), id), "junk"});
  auto act = Http("POST", stack.url() + "/api/lambda-instances/" + id + "/", {"X-API-Key: " + key},
                  "action=start");  // admit.lua: a Lua error
  auto read = Http("GET", stack.url() + "/api/lambda-instances/" + id + "/",
                   {"X-API-Key: " + key});  // HMGET: a Redis error
  auto batch = Http("POST", stack.url() + "/api/lambda-instances/actions/",
                    {"X-API-Key: " + key, "Content-Type: application/json"},
                    R"({"action":"start","ids":[")" + id + R"(",")" + util::NewUuid() + "\"]}");
  for (const auto* r : {&act, &read, &batch}) {
    SCOPED_TRACE(r->body);
    EXPECT_EQ(r == &batch ? 202 : 503, r->status);
    ExpectNoOperatorText(r->body);
    const std::string error_id = ErrorIdIn(r->body);
    ASSERT_FALSE(error_id.empty());
    std::string log = stack.shim().Log();
    auto at = log.find(error_id);
    ASSERT_NE(at, std::string::npos);
    EXPECT_NE(log.substr(at, log.find('\n', at) - at).find("WRONGTYPE"), std::string::npos);
  }
}

TEST(OperatorText, AFailingHookReachesTheLogAndLedgerNotTheTenant) {
  char tmpl[] = "/tmp/lambda-hooks-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  {
    std::ofstream hook(dir + "/init");
    hook << "#!/bin/sh\necho 'ssh root@10.1.2.3: password=hunter2 refused' >&2\nexit 1\n";
  }
  ASSERT_EQ(chmod((dir + "/init").c_str(), 0755), 0);
  Stack stack(Stack::Options{1, {}, {"--hooks-dir=" + dir}});
  const std::string key = stack.NewKey("ops");
  auto created = Http("POST", stack.url() + "/api/lambda-instances/",
                      {"X-API-Key: " + key, "Content-Type: application/json"},
                      CreateBody("hooked", R"("simulate":{"step_ms":1})"));
  ASSERT_EQ(created.status, 202) << created.body;
  const std::string id = Json(created.body)["data"][0]["id"].GetString();
  ASSERT_TRUE(stack.WaitFor([&] { return stack.StatusOf(id).find("FAILED") != std::string::npos; }))
      << stack.StatusOf(id);
  for (const std::string path : {"/", "/status/"}) {
    auto shown =
        Http("GET", stack.url() + "/api/lambda-instances/" + id + path, {"X-API-Key: " + key});
    ASSERT_EQ(shown.status, 200);
    SCOPED_TRACE(shown.body);
    ExpectNoOperatorText(shown.body);
    const std::string error_id = ErrorIdIn(shown.body);
    ASSERT_FALSE(error_id.empty());
    EXPECT_NE(shown.body.find("INSTALL INIT"), std::string::npos);
    // The worker's log and the instance's ledger keep the hook's words under that id.
    std::string log = stack.worker(0).Log();
    auto at = log.find(error_id);
    ASSERT_NE(at, std::string::npos);
    EXPECT_NE(log.substr(at, log.find('\n', at) - at).find("hunter2"), std::string::npos);
    std::string ledger =
        stack.redis().Cmd({"XRANGE", stack.redis_prefix() + "ops:" + id, "-", "+"});
    EXPECT_NE(ledger.find("error id " + error_id + ": ssh root@10.1.2.3: password=hunter2"),
              std::string::npos)
        << ledger;
  }
  std::system(("rm -rf " + dir).c_str());
}

TEST(SinceBounds, AnOutOfRangeEventIdIs400) {
  Stack stack(Stack::Options{1, {}, {}});
  const std::string key = stack.NewKey("since");
  auto ids = stack.Seed(1, "STOPPED", "since");
  for (const std::string since :
       {"18446744073709551616-0", "1-18446744073709551616", "99999999999999999999999999-1"}) {
    auto r =
        Http("GET", stack.url() + "/api/lambda-instances/" + ids[0] + "/events/?since=" + since,
             {"X-API-Key: " + key});
    EXPECT_EQ(r.status, 400) << since << " " << r.body;
    EXPECT_NE(r.body.find("since: not an event id"), std::string::npos) << r.body;
    auto sse = Http("GET", stack.url() + "/api/lambda-instances/" + ids[0] + "/events/",
                    {"X-API-Key: " + key, "Accept: text/event-stream", "Last-Event-ID: " + since});
    EXPECT_EQ(sse.status, 400) << since << " " << sse.body;
  }
  // The largest id Redis takes is an id: looked up, and absent (400 naming that).
  auto max = Http("GET",
                  stack.url() + "/api/lambda-instances/" + ids[0] +
                      "/events/?since=18446744073709551615-18446744073709551615",
                  {"X-API-Key: " + key});
  EXPECT_EQ(max.status, 400) << max.body;
  EXPECT_NE(max.body.find("no such event"), std::string::npos) << max.body;
}

}  // namespace
}  // namespace lambda

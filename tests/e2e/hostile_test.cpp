// Hostile input against the real binaries: what one key holder (or a broken client) sends must
// never take the service down; limits per key; Redis with a password, an ACL user and a
// database other than 0; test-only switches refused in production.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "lambda/redis/keys.h"
#include "support.h"

namespace lambda {
namespace {

using testing::CreateBody;
using testing::EnvOr;
using testing::Http;
using testing::Process;
using testing::Stack;

/// A raw client connection for exchanges that need to wait between sends (100-continue).
class RawConn {
 public:
  explicit RawConn(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawConn() { close(fd_); }
  bool connected() const { return connected_; }
  void Send(const std::string& bytes) {
    for (size_t off = 0; off < bytes.size();) {
      ssize_t n = send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  /// Reads until `marker` has arrived or `timeout` passed; everything read so far.
  std::string ReadUntil(const std::string& marker, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buf_.find(marker) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      char tmp[4096];
      ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) break;
      buf_.append(tmp, static_cast<size_t>(n));
    }
    return buf_;
  }

 private:
  int fd_;
  bool connected_ = false;
  std::string buf_;
};

class Hostile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ =
        new Stack(Stack::Options{1, {"--rate-limit-per-s", "5", "--rate-limit-burst", "5"}, {}});
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  /// This suite limits every tenant to 5 requests a second; a test about input rather than the
  /// limit raises its own tenant's rate with lambdactl (the bucket is the tenant's, whatever key).
  static void RaiseRate(const std::string& tenant) {
    auto r =
        testing::RunCommand(testing::EnvOr("LAMBDA_CTL_BIN") + " --redis-url '" +
                            stack_->redis_url() + "' --redis-prefix " + stack_->redis_prefix() +
                            " tenant set " + tenant + " --rate 1000000 --burst 1000000");
    ASSERT_EQ(r.rc, 0) << r.out;
  }
  static Stack* stack_;
};
Stack* Hostile::stack_ = nullptr;

TEST_F(Hostile, DeepJsonOnEveryBodyRouteIsA400AndTheShimLives) {
  std::string key = stack_->NewKey("deep");
  auto ids = stack_->Seed(1, "STOPPED", "deep");
  std::string deep(200000, '[');
  std::string nested;
  for (int i = 0; i < 40000; ++i) nested += "{\"a\":";
  struct Case {
    std::string path;
    std::vector<std::string> headers;
    std::string body;
  };
  const std::vector<Case> cases{
      {"/api/lambda-instances/", {"Content-Type: application/json"}, deep},
      {"/api/lambda-instances/", {"Content-Type: application/json"}, nested},
      {"/api/lambda-instances/" + ids[0] + "/", {"Content-Type: application/json"}, deep},
      {"/backend/create_lambda_instance", {"Content-Type: application/json"}, deep},
      {"/api/v2/vm", {"X-ZC-Action: StartInstances"}, deep},
      {"/api/v2/vm", {"X-ZC-Action: DescribeInstancesStatus"}, nested},
  };
  for (const auto& c : cases) {
    auto headers = c.headers;
    headers.push_back("X-API-Key: " + key);
    auto r = Http("POST", stack_->url() + c.path, headers, c.body);
    EXPECT_EQ(r.status, 400) << c.path << ": " << r.body;
    EXPECT_NE(r.body.find("nested deeper than 32 levels"), std::string::npos) << r.body;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // under the rate limit
  }
  EXPECT_EQ(stack_->StatusOf(ids[0]), "STOPPED");
  ASSERT_TRUE(stack_->shim().Alive()) << "a deep body must not crash the shim";
  EXPECT_EQ(Http("GET", stack_->url() + "/healthz").status, 200);
}

// Page sizes, offsets and page numbers that fit an int64 but overflow once multiplied or added
// (or lose precision as Lua numbers) are a 400 in each dialect, never a 503 with Redis's text.
TEST_F(Hostile, HugePagingValuesAreA400InEveryDialect) {
  RaiseRate("paging");
  stack_->Seed(2, "STOPPED", "paging");
  const std::string huge = "9223372036854775807";
  struct Case {
    std::string method, path, body;
    std::vector<std::string> headers;
    std::string expect;  ///< in the error body
  };
  const std::vector<Case> cases{
      {"GET", "/api/lambda-instances/?limit=" + huge, "", {}, "limit value"},
      {"GET", "/api/lambda-instances/?limit=10&offset=" + huge, "", {}, "offset value"},
      {"GET", "/api/lambda-instances/?limit=" + huge + "&offset=" + huge, "", {}, "limit value"},
      {"GET",
       "/backend/lambda-instances/?limit=" + huge + "&page=" + huge,
       "",
       {},
       "Bad parameter"},
      {"GET", "/backend/lambda-instances/?limit=10&page=" + huge, "", {}, "Bad parameter"},
      {"POST",
       "/api/v2/vm",
       R"({"pageSize":1000,"pageNum":)" + huge + "}",
       {"X-ZC-Action: DescribeInstancesStatus", "Content-Type: application/json"},
       "INVALID_PARAMETER"},
  };
  for (const auto& c : cases) {
    auto headers = c.headers;
    headers.push_back("X-API-Key: " + stack_->NewKey("paging"));
    auto r = Http(c.method, stack_->url() + c.path, headers, c.body);
    EXPECT_EQ(r.status, 400) << c.path << " " << c.body << ": " << r.body;
    EXPECT_NE(r.body.find(c.expect), std::string::npos) << c.path << ": " << r.body;
    EXPECT_EQ(r.body.find("ERR"), std::string::npos) << c.path << ": " << r.body;
  }
  // The largest accepted values still answer (an empty page, not an error).
  auto last =
      Http("GET", stack_->url() + "/api/lambda-instances/?limit=2147483647&offset=2147483647",
           {"X-API-Key: " + stack_->NewKey("paging")}, "");
  EXPECT_EQ(last.status, 200) << last.body;
  auto legacy =
      Http("GET", stack_->url() + "/backend/lambda-instances/?limit=2147483647&page=2147483647",
           {"X-API-Key: " + stack_->NewKey("paging")}, "");
  EXPECT_EQ(legacy.status, 200) << legacy.body;
}

// Names with control characters (C0, DEL, C1 such as U+009B) are refused at create in every
// route that creates, and nothing is stored: libvirt fails on them, terminals obey them.
TEST_F(Hostile, ControlCharactersInNamesAreRefusedAtCreate) {
  RaiseRate("control");
  const std::vector<std::string> names{"esc\\u001b[2J", "del\\u007f", "csi\\u009b31m",
                                       "nul\\u0000"};
  for (const auto& name : names) {
    for (const std::string path : {"/api/lambda-instances/", "/backend/create_lambda_instance/"}) {
      auto r = Http("POST", stack_->url() + path,
                    {"X-API-Key: " + stack_->NewKey("control"), "Content-Type: application/json"},
                    CreateBody(name));
      EXPECT_EQ(r.status, 400) << path << " " << name << ": " << r.body;
      EXPECT_NE(r.body.find("instance_name: must not contain control characters"),
                std::string::npos)
          << r.body;
    }
  }
  std::string body = CreateBody("fine");
  body.replace(body.find(R"("m1")"), 4, R"("m\u0085")");  // U+0085, a C1 control
  auto master =
      Http("POST", stack_->url() + "/api/lambda-instances/",
           {"X-API-Key: " + stack_->NewKey("control"), "Content-Type: application/json"}, body);
  EXPECT_EQ(master.status, 400) << master.body;
  auto list = Http("GET", stack_->url() + "/api/lambda-instances/count/",
                   {"X-API-Key: " + stack_->NewKey("control")}, "");
  EXPECT_NE(list.body.find(R"("count":0)"), std::string::npos) << list.body;
  // Printable text beyond ASCII is a name like any other.
  auto ok = Http("POST", stack_->url() + "/api/lambda-instances/",
                 {"X-API-Key: " + stack_->NewKey("control"), "Content-Type: application/json"},
                 CreateBody("\u03b1\u03b2 \u20ac cluster"));
  EXPECT_EQ(ok.status, 202) << ok.body;
}

TEST_F(Hostile, InvalidUtf8IsRefusedAndNothingIsStored) {
  std::string key = stack_->NewKey("utf8");
  auto r =
      Http("POST", stack_->url() + "/api/lambda-instances/",
           {"X-API-Key: " + key, "Content-Type: application/json"}, CreateBody("bad\xff\xfe-name"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("invalid UTF-8"), std::string::npos) << r.body;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto count = Http("GET", stack_->url() + "/api/lambda-instances/count/", {"X-API-Key: " + key});
  EXPECT_NE(count.body.find("0"), std::string::npos) << count.body;
}

TEST_F(Hostile, ExpectContinueGets100ThenTheBodyIsReadAndAnswered) {
  std::string key = stack_->NewKey("continue");
  std::string body = CreateBody("continue");
  RawConn c(stack_->port());
  ASSERT_TRUE(c.connected());
  c.Send("POST /api/lambda-instances/ HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key +
         "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n");
  // The client waits for our word: it must come at once, not after a second-long client timeout.
  auto got = c.ReadUntil("\r\n\r\n", std::chrono::milliseconds(500));
  ASSERT_EQ(got.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u) << got;
  c.Send(body);
  got = c.ReadUntil("HTTP/1.1 202", std::chrono::seconds(5));
  EXPECT_NE(got.find("HTTP/1.1 202"), std::string::npos) << got;
}

TEST_F(Hostile, OneTenantIsThrottledWhileAnotherIsServed) {
  std::string a = stack_->NewKey("tenant-a");
  std::string b = stack_->NewKey("tenant-b");
  std::this_thread::sleep_for(std::chrono::seconds(1));  // both buckets full
  int a_ok = 0, a_429 = 0, b_ok = 0;
  std::string retry_after, zenlayer_code;
  for (int i = 0; i < 30; ++i) {
    auto r = Http("GET", stack_->url() + "/api/lambda-instances/", {"X-API-Key: " + a});
    if (r.status == 200) ++a_ok;
    if (r.status == 429) {
      ++a_429;
      retry_after = r.headers["retry-after"];
    }
  }
  auto z = Http("POST", stack_->url() + "/api/v2/vm",
                {"X-API-Key: " + a, "X-ZC-Action: DescribeInstancesStatus"}, "{}");
  for (int i = 0; i < 4; ++i) {
    if (Http("GET", stack_->url() + "/api/lambda-instances/", {"X-API-Key: " + b}).status == 200)
      ++b_ok;
  }
  EXPECT_LE(a_ok, 7);  // the burst of 5, and what refilled meanwhile
  EXPECT_GE(a_429, 20);
  EXPECT_FALSE(retry_after.empty());
  EXPECT_GE(std::atoi(retry_after.c_str()), 1);
  EXPECT_EQ(z.status, 429);
  EXPECT_NE(z.body.find("REQUEST_LIMIT_EXCEEDED"), std::string::npos) << z.body;
  EXPECT_EQ(b_ok, 4) << "tenant B must not be starved by tenant A";
}

TEST(HostileConfig, TestOnlySwitchesAreRefusedInProduction) {
  // The crash-injection point needs the explicit test flag: without it the shim does not start.
  Process shim({EnvOr("LAMBDA_SHIM_BIN"), "--fault-crash-after-admit-permille", "20", "--http-port",
                std::to_string(testing::FreePort())},
               "/tmp/lambda-test-logs/fault-flag-shim.log");
  EXPECT_EQ(shim.Wait(std::chrono::seconds(10)), 2);
  EXPECT_NE(shim.Log().find("needs --enable-test-faults"), std::string::npos) << shim.Log();
  // With a real provider, a create's simulate block is refused.
  Stack stack(Stack::Options{0, {"--provider", "libvirt"}, {}});
  std::string key = stack.NewKey("real");
  auto r = Http("POST", stack.url() + "/api/lambda-instances/",
                {"X-API-Key: " + key, "Content-Type: application/json"},
                CreateBody("sim", R"("simulate":{"fail_at":"KAFKA"})"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("simulate is only accepted by the simulated provider"), std::string::npos)
      << r.body;
  EXPECT_EQ(Http("POST", stack.url() + "/api/lambda-instances/",
                 {"X-API-Key: " + key, "Content-Type: application/json"}, CreateBody("plain"))
                .status,
            202);
}

/// A private redis-server with a password and an ACL user, on a free port.
class SecuredRedis {
 public:
  SecuredRedis() : port_(testing::FreePort()) {
    dir_ = "/tmp/lambda-test-logs/redis-auth-" + std::to_string(port_);
    std::system(("mkdir -p " + dir_).c_str());
    server_ = std::make_unique<Process>(
        std::vector<std::string>{"redis-server", "--port", std::to_string(port_), "--bind",
                                 "127.0.0.1", "--dir", dir_, "--save", "", "--appendonly", "no",
                                 "--requirepass", "s3cret-default"},
        dir_ + "/redis.log");
    testing::WaitFor(
        [&] {
          testing::SyncRedis r(Url(":s3cret-default@", 0));
          return r.Cmd({"PING"}) == "PONG";
        },
        std::chrono::seconds(10));
    testing::SyncRedis admin(Url(":s3cret-default@", 0));
    admin.Cmd({"ACL", "SETUSER", "lambda", "on", ">s3cret-user", "~*", "&*", "+@all"});
  }
  std::string Url(const std::string& cred, int db) const {
    return "redis://" + cred + "127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
  }

 private:
  int port_;
  std::string dir_;
  std::unique_ptr<Process> server_;
};

TEST(HostileConfig, BothBinariesAndLambdactlAuthenticateAndUseTheirDatabase) {
  SecuredRedis redis;
  for (const std::string cred : {":s3cret-default@", "lambda:s3cret-user@"}) {
    SCOPED_TRACE(cred);
    Stack stack(Stack::Options{1, {}, {}}, redis.Url(cred, 3));
    std::string key = stack.NewKey("auth");  // lambdactl, with the same URL
    auto ids = stack.Seed(1, "STOPPED", "auth");
    auto r = Http("POST", stack.url() + "/api/lambda-instances/" + ids[0] + "/",
                  {"X-API-Key: " + key}, "action=start");
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_TRUE(stack.WaitStatus(ids[0], "STARTED", std::chrono::seconds(20)));  // the worker
    // Everything went to database 3, nothing to 0.
    testing::SyncRedis db0(redis.Url(cred, 0));
    EXPECT_EQ(db0.Int({"DBSIZE"}), 0);
    testing::SyncRedis db3(redis.Url(cred, 3));
    EXPECT_GT(db3.Int({"EXISTS", redis::keys::Instance(stack.redis_prefix(), ids[0])}), 0);
  }
  // A wrong password: lambdactl fails loudly, the shim never says ready.
  std::string ctl = EnvOr("LAMBDA_CTL_BIN") + " --redis-url '" + redis.Url(":wrong@", 3) +
                    "' apikey create --tenant x >/dev/null 2>&1";
  EXPECT_NE(std::system(ctl.c_str()), 0);
  int port = testing::FreePort();
  Process shim({EnvOr("LAMBDA_SHIM_BIN"), "--redis-url", redis.Url(":wrong@", 3), "--amqp-url",
                EnvOr("LAMBDA_TEST_AMQP_URL"), "--http-port", std::to_string(port)},
               "/tmp/lambda-test-logs/wrong-password-shim.log");
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  ASSERT_TRUE(testing::WaitFor([&] { return Http("GET", url + "/healthz").status == 200; },
                               std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto ready = Http("GET", url + "/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(ready.body.find("\"redis\":false"), std::string::npos) << ready.body;
  EXPECT_NE(shim.Log().find("redis refused the connection handshake"), std::string::npos);
}

}  // namespace
}  // namespace lambda

// The Redis and AMQP clients against real servers on a real libuv loop.
#include <gtest/gtest.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "lambda/amqp/connection.h"
#include "lambda/amqp/consumer.h"
#include "lambda/amqp/publisher.h"
#include "lambda/domain/status.h"
#include "lambda/redis/async_client.h"
#include "lambda/redis/grouping_client.h"
#include "lambda/redis/keys.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"
#include "lambda/uv/handle.h"
#include "support.h"
#include "tcp_proxy.h"

namespace lambda {
namespace {

class Loop : public ::testing::Test {
 protected:
  void SetUp() override { uv_loop_init(&loop_); }
  void TearDown() override { EXPECT_TRUE(uv::DrainAndClose(&loop_)); }

  /// Runs the loop until `pred` holds or `timeout` passes.
  bool RunUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    return testing::RunLoopUntil(&loop_, pred, timeout);
  }

  amqp::Config AmqpConfig() {
    auto c = amqp::ParseUrl(testing::EnvOr("LAMBDA_TEST_AMQP_URL"));
    EXPECT_TRUE(c.ok());
    c->prefix = testing::UniquePrefix("it");
    c->queue_type = "classic";
    return *c;
  }

  uv_loop_t loop_;
};

TEST_F(Loop, RedisCommandsAndEvalShaSurviveScriptFlush) {
  auto cfg = redis::ParseUrl(testing::EnvOr("LAMBDA_TEST_REDIS_URL"));
  redis::AsyncClient client(&loop_, *cfg);
  client.Start();
  ASSERT_TRUE(RunUntil([&] { return client.connected(); }, std::chrono::seconds(5)));
  std::string got;
  client.Command({"SET", "it:k", "v"}, [](Result<redis::Value>) {});
  client.Command({"GET", "it:k"}, [&](Result<redis::Value> r) { got = r->str; });
  ASSERT_TRUE(RunUntil([&] { return !got.empty(); }, std::chrono::seconds(5)));
  EXPECT_EQ(got, "v");
  // NOSCRIPT (empty script cache) falls back to EVAL transparently.
  client.Command({"SCRIPT", "FLUSH"}, [](Result<redis::Value>) {});
  int64_t renewed = -1;
  const redis::args::RenewLease renew{"it:", "none", "w", 100, 1};
  client.EvalSha(redis::scripts::RenewLease(), renew.Keys(), renew.Argv(),
                 [&](Result<redis::Value> r) { renewed = r->AsInt(); });
  ASSERT_TRUE(RunUntil([&] { return renewed >= 0; }, std::chrono::seconds(5)));
  EXPECT_EQ(renewed, 0);
  client.Stop();
}

TEST_F(Loop, GroupedScriptCallsAnswerEachCallerAsTheirOwnEvalShaWould) {
  auto cfg = redis::ParseUrl(testing::EnvOr("LAMBDA_TEST_REDIS_URL"));
  redis::AsyncClient client(&loop_, *cfg);
  redis::GroupingClient grouped(&loop_, client, 128);
  client.Start();
  ASSERT_TRUE(RunUntil([&] { return client.connected(); }, std::chrono::seconds(5)));
  const std::string p = testing::UniquePrefix("grp") + ":";
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(util::NewUuid());
  int answered = 0;
  std::vector<redis::Value> created(3);
  for (int i = 0; i < 3; ++i) {
    const redis::args::AdmitCreate create{p, ids[i], "t1", "n",   "{}", "req",
                                          1, "now",  10,   "tok", i + 1};
    grouped.EvalSha(redis::scripts::AdmitCreate(), create.Keys(), create.Argv(),
                    [&, i](Result<redis::Value> r) {
                      ASSERT_TRUE(r.ok());
                      created[i] = *r;
                      ++answered;
                    });
  }
  // A key of the wrong type makes that one call raise (WRONGTYPE); its neighbours still answer.
  client.Command({"SET", redis::keys::Instance(p, "broken"), "x"}, [](Result<redis::Value>) {});
  std::vector<Result<redis::Value>> claims;
  for (const std::string& id : {ids[0], std::string("broken"), ids[1], util::NewUuid()}) {
    const redis::args::Claim claim{p, id, 1, "w1", 10000};
    grouped.EvalSha(redis::scripts::Claim(), claim.Keys(), claim.Argv(),
                    [&](Result<redis::Value> r) { claims.push_back(std::move(r)); });
  }
  ASSERT_TRUE(
      RunUntil([&] { return answered == 3 && claims.size() == 4; }, std::chrono::seconds(5)));
  EXPECT_EQ(grouped.groups_sent(), 1U);  // all seven calls of the iteration in one EVALSHA
  EXPECT_EQ(grouped.calls_sent(), 7U);
  for (const auto& c : created) EXPECT_EQ(c.elements.at(0).str, "ok");
  ASSERT_TRUE(claims[0].ok());
  EXPECT_EQ(claims[0]->elements.at(0).str, "ok");
  EXPECT_EQ(claims[0]->elements.at(1).AsInt(),
            domain::CodeOf(domain::InstanceStatus::kPending));  // as the create left it
  ASSERT_TRUE(claims[1].ok());
  EXPECT_TRUE(claims[1]->is_error());
  EXPECT_NE(claims[1]->str.find("WRONGTYPE"), std::string::npos) << claims[1]->str;
  EXPECT_EQ(claims[2]->elements.at(0).str, "ok");
  EXPECT_EQ(claims[3]->elements.at(0).str, "gone");
  // The same calls one by one give the same answers: a second claim by another worker is busy.
  Result<redis::Value> alone = Error{Code::kInternal, "unset"};
  bool done = false;
  const redis::args::Claim second{p, ids[0], 1, "w2", 10000};
  client.EvalSha(redis::scripts::Claim(), second.Keys(), second.Argv(),
                 [&](Result<redis::Value> r) {
                   alone = std::move(r);
                   done = true;
                 });
  ASSERT_TRUE(RunUntil([&] { return done; }, std::chrono::seconds(5)));
  EXPECT_EQ(alone->elements.at(0).str, "busy");
  // Redis away: held calls are refused at once, each on its own.
  client.Stop();
  bool refused = false;
  const redis::args::Claim late{p, ids[2], 1, "w1", 1};
  grouped.EvalSha(redis::scripts::Claim(), late.Keys(), late.Argv(),
                  [&](Result<redis::Value> r) { refused = !r.ok(); });
  EXPECT_TRUE(refused);
}

TEST_F(Loop, RedisDownFailsFastThenReconnects) {
  redis::Config cfg;
  cfg.port = testing::FreePort();  // nothing listens here yet
  cfg.reconnect_max_ms = 200;
  redis::AsyncClient client(&loop_, cfg);
  client.Start();
  bool failed = false;
  client.Command({"PING"}, [&](Result<redis::Value> r) {
    failed = !r.ok() && r.error().code == Code::kUnavailable;
  });
  EXPECT_TRUE(failed);  // refused synchronously, callback ran once
  std::string dir = "/tmp/" + testing::UniquePrefix("redis-it");
  std::string cmd = "redis-server --port " + std::to_string(cfg.port) +
                    " --bind 127.0.0.1 --daemonize yes --dir /tmp"
                    " --pidfile " +
                    dir + ".pid --save '' --appendonly no >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_TRUE(RunUntil([&] { return client.connected(); }, std::chrono::seconds(10)));
  std::string pong;
  client.Command({"PING"}, [&](Result<redis::Value> r) { pong = r ? r->str : "err"; });
  ASSERT_TRUE(RunUntil([&] { return !pong.empty(); }, std::chrono::seconds(5)));
  EXPECT_EQ(pong, "PONG");
  // Kill it: pending and later commands fail with kUnavailable, then it reconnects again.
  ASSERT_EQ(std::system(("redis-cli -p " + std::to_string(cfg.port) +
                         " shutdown nosave >/dev/null 2>&1; true")
                            .c_str()),
            0);
  EXPECT_TRUE(RunUntil([&] { return !client.connected(); }, std::chrono::seconds(5)));
  client.Stop();
}

TEST_F(Loop, PublishIsConfirmedConsumedAndAcked) {
  auto cfg = AmqpConfig();
  std::vector<amqp::Delivery> got;
  amqp::Connection consuming(&loop_, cfg, {true, nullptr});
  amqp::Consumer* consumer_ptr = nullptr;
  // Ack as they come: prefetch bounds what is delivered before acks.
  amqp::Consumer consumer(consuming, [&](amqp::Delivery d) {
    EXPECT_TRUE(consumer_ptr->Ack(d.epoch, d.tag).ok());
    got.push_back(std::move(d));
  });
  consumer_ptr = &consumer;
  amqp::Connection publishing(&loop_, cfg, {});
  amqp::ConfirmingPublisher publisher(publishing);
  publishing.Start();
  consuming.Start();
  ASSERT_TRUE(RunUntil([&] { return publishing.connected() && consuming.connected(); },
                       std::chrono::seconds(10)));
  const int n = 500;  // many in flight on one channel
  int confirmed = 0, failed = 0;
  for (int i = 0; i < n; ++i) {
    amqp::PublishOptions o;
    o.message_id = "m" + std::to_string(i);
    publisher.Publish(publisher.topology().actions_exchange, amqp::Topology::kActionKey,
                      "{\"i\":" + std::to_string(i) + "}", o,
                      [&](Status st) { st ? ++confirmed : ++failed; });
  }
  EXPECT_GT(publisher.in_flight(), 0u);
  ASSERT_TRUE(RunUntil([&] { return confirmed + failed == n && static_cast<int>(got.size()) == n; },
                       std::chrono::seconds(20)));
  EXPECT_EQ(confirmed, n);
  EXPECT_EQ(got.front().message_id, "m0");
  consuming.Stop();
  publishing.Stop();
}

TEST_F(Loop, UnroutableAndOverLimitPublishesFail) {
  auto cfg = AmqpConfig();
  cfg.max_in_flight = 2;
  amqp::Connection publishing(&loop_, cfg, {});
  amqp::ConfirmingPublisher publisher(publishing);
  publishing.Start();
  ASSERT_TRUE(RunUntil([&] { return publisher.connected(); }, std::chrono::seconds(10)));
  std::string unroutable;
  publisher.Publish(publisher.topology().actions_exchange, "no-such-key", "{}", {},
                    [&](Status st) { unroutable = st ? "ok" : st.error().message; });
  int ok = 0;
  publisher.Publish(publisher.topology().actions_exchange, amqp::Topology::kActionKey, "{}", {},
                    [&](Status st) { ok += st.ok(); });
  std::string over;
  publisher.Publish(publisher.topology().actions_exchange, amqp::Topology::kActionKey, "{}", {},
                    [&](Status st) { over = st ? "ok" : st.error().message; });
  EXPECT_EQ(over, "too many unconfirmed publishes");
  ASSERT_TRUE(RunUntil([&] { return !unroutable.empty() && ok == 1; }, std::chrono::seconds(10)));
  EXPECT_EQ(unroutable, "message was unroutable (returned)");
  publishing.Stop();
}

TEST_F(Loop, RetryExchangeDelaysThenRedelivers) {
  auto cfg = AmqpConfig();
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> got;
  amqp::Connection conn(&loop_, cfg, {true, nullptr});
  amqp::Consumer consumer(
      conn, [&](amqp::Delivery d) { got.emplace_back(std::chrono::steady_clock::now(), d.body); });
  amqp::ConfirmingPublisher publisher(conn);
  conn.Start();
  ASSERT_TRUE(RunUntil([&] { return conn.connected(); }, std::chrono::seconds(10)));
  // A long wait published first must not hold up a short one (per-message TTLs expire only at
  // the head of a queue; the tiers keep them apart).
  auto publish = [&](const char* body, uint64_t delay_ms, bool* confirmed) {
    auto route = amqp::Topology::RetryRouteFor(delay_ms);
    amqp::PublishOptions later;
    later.expiration_ms = route.expiration_ms;
    publisher.Publish(conn.topology().retry_exchange, route.key, body, later,
                      [confirmed](Status st) { *confirmed = st.ok(); });
  };
  bool long_confirmed = false, short_confirmed = false;
  auto sent = std::chrono::steady_clock::now();
  publish("long", 3000, &long_confirmed);
  publish("short", 100, &short_confirmed);
  ASSERT_TRUE(RunUntil([&] { return !got.empty(); }, std::chrono::seconds(10)));
  EXPECT_TRUE(short_confirmed);
  EXPECT_TRUE(long_confirmed);
  EXPECT_EQ(got[0].second, "short");
  EXPECT_GE(got[0].first - sent, std::chrono::milliseconds(90));  // waited out its own delay
  EXPECT_LT(got[0].first - sent, std::chrono::milliseconds(2000));
  ASSERT_TRUE(RunUntil([&] { return got.size() == 2; }, std::chrono::seconds(10)));
  EXPECT_EQ(got[1].second, "long");
  EXPECT_GE(got[1].first - sent, std::chrono::milliseconds(2900));
  conn.Stop();
}

TEST_F(Loop, BrokerUnreachableFailsPublishesAtOnce) {
  amqp::Config cfg;
  cfg.endpoints[0].port = testing::FreePort();
  cfg.reconnect_max_ms = 100;
  amqp::Connection conn(&loop_, cfg, {});
  amqp::ConfirmingPublisher publisher(conn);
  conn.Start();
  std::string err;
  publisher.Publish("x", "y", "{}", {}, [&](Status st) { err = st ? "ok" : st.error().message; });
  EXPECT_EQ(err, "amqp is not connected");
  EXPECT_FALSE(conn.connected());
  conn.Stop();
}

TEST_F(Loop, NodesAreTriedInOrderAndALostOnePassesToTheNext) {
  auto cfg = AmqpConfig();
  const amqp::Endpoint broker = cfg.endpoints.at(0);
  auto proxy = std::make_unique<testing::TcpProxy>(broker.port);  // a node that will die
  amqp::Endpoint dead = broker, doomed = broker;
  dead.port = testing::FreePort();
  doomed.port = proxy->port();
  cfg.endpoints = {dead, doomed, broker};
  cfg.reconnect_max_ms = 200;
  amqp::Connection conn(&loop_, cfg, {});
  amqp::ConfirmingPublisher publisher(conn);
  conn.Start();
  ASSERT_TRUE(RunUntil([&] { return conn.connected(); }, std::chrono::seconds(10)));
  EXPECT_EQ(conn.address(), doomed.Addr()) << "the first node does not answer: the second";
  uint64_t epoch = conn.epoch();
  proxy.reset();  // the node dies: its connections close
  ASSERT_TRUE(RunUntil([&] { return conn.connected() && conn.epoch() != epoch; },
                       std::chrono::seconds(10)));
  EXPECT_EQ(conn.address(), broker.Addr()) << "a lost node passes to the next one";
  std::optional<Status> outcome;
  publisher.Publish(publisher.topology().actions_exchange, amqp::Topology::kActionKey, "{}", {},
                    [&](Status st) { outcome = st; });
  ASSERT_TRUE(RunUntil([&] { return outcome.has_value(); }, std::chrono::seconds(10)));
  EXPECT_TRUE(outcome->ok()) << outcome->error().message;
  conn.Stop();
}

TEST_F(Loop, BlackHoledBrokerNeverStallsTheLoop) {
  auto cfg = AmqpConfig();
  testing::TcpProxy proxy(cfg.endpoints[0].port);
  cfg.endpoints[0].port = proxy.port();
  cfg.publish_timeout_ms = 1000;
  cfg.rpc_timeout_ms = 1000;
  cfg.reconnect_max_ms = 200;
  amqp::Connection conn(&loop_, cfg, {});
  amqp::ConfirmingPublisher publisher(conn);
  conn.Start();
  ASSERT_TRUE(RunUntil([&] { return conn.connected(); }, std::chrono::seconds(10)));
  uint64_t first_epoch = conn.epoch();

  // A 5 ms tick measures how long the loop is ever kept from running.
  using Clock = std::chrono::steady_clock;
  auto last = Clock::now();
  std::vector<int64_t> gaps_ms;
  uv::Timer tick(&loop_);
  tick.Start(5, 5, [&] {
    auto now = Clock::now();
    gaps_ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(now - last).count());
    last = now;
  });
  proxy.BlackHole(true);
  // 8 MB into a link that forwards nothing: far more than the socket buffers hold, so the I/O
  // thread's writes block (a loop-thread publish would have blocked the loop here).
  const std::string body(8192, 'x');
  int failed = 0, confirmed = 0;
  const int n = 1000;
  for (int i = 0; i < n; ++i) {
    publisher.Publish(conn.topology().actions_exchange, amqp::Topology::kActionKey, body, {},
                      [&](const Status& st) { st ? ++confirmed : ++failed; });
  }
  ASSERT_TRUE(RunUntil([&] { return failed + confirmed == n; }, std::chrono::seconds(10)));
  EXPECT_EQ(failed, n) << "the black hole let confirms through";
  // The timeout aborted the silent connection; reconnects into the black hole fail their
  // handshake on the I/O thread. Keep the loop measured through some of them.
  ASSERT_TRUE(RunUntil([&] { return !conn.connected(); }, std::chrono::seconds(5)));
  auto until = Clock::now() + std::chrono::milliseconds(2500);
  ASSERT_FALSE(RunUntil([&] { return Clock::now() > until && conn.connected(); },
                        std::chrono::milliseconds(2500)));
  EXPECT_GE(proxy.accepted(), 2) << "no reconnect was attempted into the black hole";
  // A loop blocked by a socket write or a handshake RPC shows whole seconds (the timeouts are
  // 1 s); what is left is scheduling noise of a loaded (or sanitized) machine.
  std::sort(gaps_ms.begin(), gaps_ms.end());
  ASSERT_GT(gaps_ms.size(), 100U);
  std::printf("black hole: %zu loop ticks, p99 gap %lld ms, max %lld ms\n", gaps_ms.size(),
              static_cast<long long>(gaps_ms[gaps_ms.size() * 99 / 100]),
              static_cast<long long>(gaps_ms.back()));
  EXPECT_LE(gaps_ms[gaps_ms.size() * 99 / 100], 50) << "p99 of " << gaps_ms.size() << " ticks";
  EXPECT_LT(gaps_ms.back(), 250) << "the longest the loop was kept from running";

  proxy.BlackHole(false);
  ASSERT_TRUE(RunUntil([&] { return conn.connected(); }, std::chrono::seconds(15)));
  EXPECT_GT(conn.epoch(), first_epoch);
  bool ok = false;
  publisher.Publish(conn.topology().actions_exchange, amqp::Topology::kActionKey, "{}", {},
                    [&](const Status& st) { ok = st.ok(); });
  EXPECT_TRUE(RunUntil([&] { return ok; }, std::chrono::seconds(10)));
  tick.Stop();
  conn.Stop();
}

}  // namespace
}  // namespace lambda

// The Redis and AMQP clients against real servers on a real libuv loop.
#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <cstdlib>

#include "lambda/amqp/connection.h"
#include "lambda/redis/async_client.h"
#include "lambda/redis/scripts.h"
#include "lambda/uv/handle.h"
#include "support.h"

namespace lambda {
namespace {

class Loop : public ::testing::Test {
 protected:
  void SetUp() override { uv_loop_init(&loop_); }
  void TearDown() override { EXPECT_TRUE(uv::DrainAndClose(&loop_)); }

  /// Runs the loop until `pred` holds or `timeout` passes.
  bool RunUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      uv::Timer tick(&loop_);
      tick.Start(5, 0, [] {});
      uv_run(&loop_, UV_RUN_ONCE);
    }
    return true;
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
  client.EvalSha(redis::scripts::RenewLease(), {}, {"it:", "none", "w", "100", "1"},
                 [&](Result<redis::Value> r) { renewed = r->AsInt(); });
  ASSERT_TRUE(RunUntil([&] { return renewed >= 0; }, std::chrono::seconds(5)));
  EXPECT_EQ(renewed, 0);
  client.Stop();
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
  amqp::Connection* consumer_ptr = nullptr;
  // Ack as they come: prefetch bounds what is delivered before acks.
  amqp::Connection consumer(&loop_, cfg, true, {nullptr, [&](amqp::Delivery d) {
                                                  EXPECT_TRUE(consumer_ptr->Ack(d.tag).ok());
                                                  got.push_back(std::move(d));
                                                }});
  consumer_ptr = &consumer;
  amqp::Connection publisher(&loop_, cfg, false, {});
  publisher.Start();
  consumer.Start();
  ASSERT_TRUE(RunUntil([&] { return publisher.connected() && consumer.connected(); },
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
  consumer.Stop();
  publisher.Stop();
}

TEST_F(Loop, UnroutableAndOverLimitPublishesFail) {
  auto cfg = AmqpConfig();
  cfg.max_in_flight = 2;
  amqp::Connection publisher(&loop_, cfg, false, {});
  publisher.Start();
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
  publisher.Stop();
}

TEST_F(Loop, RetryExchangeDelaysThenRedelivers) {
  auto cfg = AmqpConfig();
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> got;
  amqp::Connection conn(&loop_, cfg, true, {nullptr, [&](amqp::Delivery d) {
                                              got.emplace_back(std::chrono::steady_clock::now(),
                                                               d.body);
                                              (void)0;
                                            }});
  conn.Start();
  ASSERT_TRUE(RunUntil([&] { return conn.connected(); }, std::chrono::seconds(10)));
  // A long wait published first must not hold up a short one (per-message TTLs expire only at
  // the head of a queue; the tiers keep them apart).
  auto publish = [&](const char* body, uint64_t delay_ms, bool* confirmed) {
    auto route = amqp::Topology::RetryRouteFor(delay_ms);
    amqp::PublishOptions later;
    later.expiration_ms = route.expiration_ms;
    conn.Publish(conn.topology().retry_exchange, route.key, body, later,
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
  cfg.port = testing::FreePort();
  cfg.reconnect_max_ms = 100;
  amqp::Connection conn(&loop_, cfg, false, {});
  conn.Start();
  std::string err;
  conn.Publish("x", "y", "{}", {}, [&](Status st) { err = st ? "ok" : st.error().message; });
  EXPECT_EQ(err, "amqp is not connected");
  EXPECT_FALSE(conn.connected());
  conn.Stop();
}

}  // namespace
}  // namespace lambda

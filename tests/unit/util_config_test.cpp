#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "config.h"
#include "lambda/amqp/config.h"
#include "lambda/redis/async_client.h"
#include "lambda/util/util.h"

namespace lambda {
namespace {

// Ids come from the CSPRNG, not from a seeded PRNG whose state a client could recover from the
// ids it is shown: a forked child must not hand out its parent's next id (a copied PRNG does).
TEST(Util, UuidIsNotACopiedGeneratorsAfterFork) {
  const std::string before = util::NewUuid();  // the thread's generator state exists now
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string id = util::NewUuid();
    _exit(write(fds[1], id.data(), id.size()) == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  close(fds[1]);
  const std::string mine = util::NewUuid();
  char buf[64] = {};
  const ssize_t n = read(fds[0], buf, sizeof buf);
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_EQ(n, 36);
  const std::string childs(buf, 36);
  EXPECT_TRUE(util::IsUuid(childs)) << childs;
  EXPECT_NE(childs, mine);
  EXPECT_NE(childs, before);
  // Version 4, variant 10 on every id.
  for (int i = 0; i < 64; ++i) {
    const std::string id = util::NewUuid();
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
  }
}

TEST(Util, UuidAndTokens) {
  auto id = util::NewUuid();
  EXPECT_TRUE(util::IsUuid(id)) << id;
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(id, util::NewUuid());
  EXPECT_FALSE(util::IsUuid("9AC8E7AB-57F9-48A6-AF18-EF8A749B1E8C"));
  auto key = util::RandomToken(32);
  EXPECT_EQ(key.size(), 43u);  // 256 bits in URL-safe base64
  EXPECT_EQ(
      key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
  EXPECT_EQ(util::Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(util::ConstantTimeEqual("abc", "abc"));
  EXPECT_FALSE(util::ConstantTimeEqual("abc", "abd"));
  EXPECT_FALSE(util::ConstantTimeEqual("abc", "ab"));
}

TEST(Util, RandomTokensNeverRepeatAcrossTheirBufferOrAFork) {
  // Tokens come from a per-thread buffer of CSPRNG bytes: none repeats, one larger than the
  // buffer is whole, and a forked child does not hand out the bytes its parent would hand next.
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) EXPECT_TRUE(seen.insert(util::RandomToken(16)).second);
  EXPECT_EQ(util::RandomToken(5000).size(), (5000 * 8 + 5) / 6);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string t = util::RandomToken(16);
    _exit(write(fds[1], t.data(), t.size()) == static_cast<ssize_t>(t.size()) ? 0 : 1);
  }
  const std::string mine = util::RandomToken(16);
  std::string theirs(mine.size(), '\0');
  EXPECT_EQ(read(fds[0], theirs.data(), theirs.size()), static_cast<ssize_t>(theirs.size()));
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(mine, theirs);
  close(fds[0]);
  close(fds[1]);
}

TEST(Util, Rfc3339KeepsEachMillisecondAcrossItsPerSecondCache) {
  // The same second twice (the cached seconds), the next one, then back: each one exact.
  EXPECT_EQ(util::Rfc3339(1700000000007), "2023-11-14T22:13:20.007Z");
  EXPECT_EQ(util::Rfc3339(1700000000999), "2023-11-14T22:13:20.999Z");
  EXPECT_EQ(util::Rfc3339(1700000001050), "2023-11-14T22:13:21.050Z");
  EXPECT_EQ(util::Rfc3339(1700000000100), "2023-11-14T22:13:20.100Z");
  EXPECT_EQ(util::Rfc3339(951782400000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(util::Rfc3339(253402300799999), "9999-12-31T23:59:59.999Z");
}

TEST(Util, TimeAndParsing) {
  EXPECT_EQ(util::Rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(util::Rfc3339(1700000000123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(util::ParseInt("42"), 42);
  EXPECT_FALSE(util::ParseInt("4x").has_value());
  EXPECT_FALSE(util::ParseInt("").has_value());
  EXPECT_EQ(util::UrlDecode("a%20b+c%zz"), "a b c%zz");
  EXPECT_EQ(util::JsonEscape("a\"b\n\x01"), "a\\\"b\\n\\u0001");
}

TEST(Util, BackoffDoublesToTheCapWithEqualJitter) {
  EXPECT_EQ(util::BackoffMs(200, 60000, 1, 0.0), 100u);
  EXPECT_EQ(util::BackoffMs(200, 60000, 1, 1.0), 200u);
  EXPECT_EQ(util::BackoffMs(200, 60000, 3, 1.0), 800u);
  EXPECT_EQ(util::BackoffMs(200, 60000, 3, 0.5), 600u);
  EXPECT_EQ(util::BackoffMs(200, 60000, 40, 1.0), 60000u);  // capped, and no shift overflow
  EXPECT_EQ(util::BackoffMs(200, 60000, 1000, 0.0), 30000u);
  EXPECT_EQ(util::BackoffMs(500, 100, 1, 1.0), 100u);  // a first delay above the cap is capped
  for (int i = 0; i < 100; ++i) {
    uint64_t d = util::BackoffMs(1000, 60000, 2);
    EXPECT_GE(d, 1000u);
    EXPECT_LE(d, 2000u);
  }
}

TEST(Urls, RetryTiers) {
  auto r = amqp::Topology::RetryRouteFor(100);
  EXPECT_EQ(r.key, "250");
  EXPECT_EQ(r.expiration_ms, 100u);
  EXPECT_EQ(r.tier_ms, 250u);
  EXPECT_EQ(amqp::Topology::RetryRouteFor(1000).key, "1000");
  EXPECT_EQ(amqp::Topology::RetryRouteFor(1001).key, "4000");
  EXPECT_EQ(amqp::Topology::RetryRouteFor(0).expiration_ms, 1u);
  auto capped = amqp::Topology::RetryRouteFor(10'000'000);
  EXPECT_EQ(capped.key, "1024000");
  EXPECT_EQ(capped.expiration_ms, 1024000u);
  EXPECT_EQ(amqp::Topology("lambda").RetryQueue(4000), "lambda.retry.4000");
}

TEST(Urls, RedisAndAmqp) {
  auto r = redis::ParseUrl("redis://:pw@10.0.0.1:7000/3");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->host, "10.0.0.1");
  EXPECT_EQ(r->port, 7000);
  EXPECT_EQ(r->db, 3);
  EXPECT_EQ(r->password, "pw");
  EXPECT_FALSE(redis::ParseUrl("http://x").ok());
  EXPECT_FALSE(redis::ParseUrl("redis://x:99999").ok());
  auto a = amqp::ParseUrl("amqp://u:p@h:5673/v%2Fx");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->endpoints.size(), 1u);
  EXPECT_EQ(a->endpoints[0].user, "u");
  EXPECT_EQ(a->endpoints[0].port, 5673);
  EXPECT_EQ(a->endpoints[0].vhost, "v/x");
  EXPECT_EQ(amqp::ParseUrl("amqp://h/")->endpoints.at(0).vhost, "/");
}

TEST(Urls, AmqpClusterIsACommaSeparatedListOfWholeUrlsTriedInOrder) {
  auto c = amqp::ParseUrl("amqp://a:b@n1:5672/, amqp://c:d@n2:5673/v,amqp://n3");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->endpoints.size(), 3u);
  EXPECT_EQ(c->endpoints[0].Addr(), "n1:5672");
  EXPECT_EQ(c->endpoints[1].Addr(), "n2:5673");
  EXPECT_EQ(c->endpoints[1].user, "c");
  EXPECT_EQ(c->endpoints[1].vhost, "v");
  EXPECT_EQ(c->endpoints[2].Addr(), "n3:5672");
  EXPECT_EQ(c->endpoints[2].user, "guest");
  // One bad member spoils the list (a typo must not shrink the cluster silently).
  EXPECT_FALSE(amqp::ParseUrl("amqp://n1/,").ok());
  EXPECT_FALSE(amqp::ParseUrl("amqp://n1/,http://n2/").ok());
  EXPECT_FALSE(amqp::ParseUrl("amqp://n1/,amqp://n2:0/").ok());
  std::string many = "amqp://n/";
  for (int i = 0; i < 16; ++i) many += ",amqp://n/";
  EXPECT_FALSE(amqp::ParseUrl(many).ok());
}

TEST(ShimConfig, FlagsEnvAndErrors) {
  const char* argv[] = {"api-shim", "--http-port", "9000", "--queue-type=classic", nullptr};
  config::Source src(4, const_cast<char**>(argv));
  auto c = shim::LoadConfig(src);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->port, 9000);
  EXPECT_EQ(c->amqp.queue_type, "classic");

  const char* bad[] = {"api-shim", "--http-port",         "70000", "--nope",
                       "1",        "--queue-type=stream", nullptr};
  config::Source src2(6, const_cast<char**>(bad));
  auto e = shim::LoadConfig(src2);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("--http-port"), std::string::npos);
  EXPECT_NE(e.error().message.find("unknown flag --nope"), std::string::npos);
  EXPECT_NE(e.error().message.find("--queue-type"), std::string::npos);

  setenv("LAMBDA_MAX_BODY_BYTES", "2048", 1);
  const char* none[] = {"api-shim", nullptr};
  config::Source src3(1, const_cast<char**>(none));
  auto env = shim::LoadConfig(src3);
  unsetenv("LAMBDA_MAX_BODY_BYTES");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->http.parser.max_body_bytes, 2048u);
}

}  // namespace
}  // namespace lambda

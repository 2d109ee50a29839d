// The Redis Cluster client against a real 3-master + 3-replica cluster
// (tests/with_servers.sh redis-cluster): commands and scripts routed to every master, a slot
// moved under it (MOVED followed), a slot refusing for a while (TRYAGAIN sent again), and a
// master SIGKILLed (its replica promoted and taken over).
#include <gtest/gtest.h>
#include <signal.h>

#include <optional>
#include <set>
#include <sstream>

#include "lambda/redis/cluster_client.h"
#include "lambda/redis/keys.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"
#include "lambda/uv/handle.h"
#include "support.h"

namespace lambda {
namespace {

using testing::EnvOr;

/// A node of `cluster nodes`: its port, id and whether it is a master (and of which slots).
struct Node {
  std::string id;
  int port = 0;
  bool master = false;
  std::string slots;  ///< "0-5460" for a master
};

std::vector<Node> Nodes() {
  auto r = testing::RunCommand("redis-cli -p " + EnvOr("LAMBDA_TEST_REDIS_PORT_1") +
                               " cluster nodes 2>&1");
  std::vector<Node> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream f(line);
    std::string id, addr, flags, master_id, ping, pong, epoch, link, slots;
    f >> id >> addr >> flags >> master_id >> ping >> pong >> epoch >> link;
    std::getline(f, slots);
    Node n;
    n.id = id;
    n.port = std::atoi(addr.substr(addr.find(':') + 1).c_str());
    n.master = flags.find("master") != std::string::npos && flags.find("fail") == std::string::npos;
    n.slots = slots;
    out.push_back(n);
  }
  return out;
}

std::string NodeDirOfPort(int port) {
  for (int i = 1; i <= testing::RedisClusterNodes(); ++i) {
    if (EnvOr(("LAMBDA_TEST_REDIS_PORT_" + std::to_string(i)).c_str()) == std::to_string(port)) {
      return EnvOr(("LAMBDA_TEST_REDIS_DIR_" + std::to_string(i)).c_str());
    }
  }
  return "";
}

bool IsMaster(int port) {
  return testing::RunCommand("redis-cli -p " + std::to_string(port) + " role 2>&1")
             .out.rfind("master", 0) == 0;
}

/// Whether the node at `port` sends a command on `key` elsewhere (it does not own its slot).
bool Redirects(int port, const std::string& key) {
  return testing::RunCommand("redis-cli -p " + std::to_string(port) + " get " + key + " 2>&1")
             .out.find("MOVED") != std::string::npos;
}

/// Hands an empty slot from one master to another the way resharding does: importing and
/// migrating first, so that SETSLOT NODE on the new owner bumps its config epoch and no
/// heartbeat of the old owner's replica (which still names it) can hand the slot back.
void MoveEmptySlot(int slot, const Node& from, const Node& to, const std::vector<Node>& nodes) {
  const std::string s = std::to_string(slot);
  auto cli = [](const Node& n, const std::string& args) {
    auto r = testing::RunCommand("redis-cli -p " + std::to_string(n.port) + " " + args + " 2>&1");
    EXPECT_EQ(r.out.rfind("OK", 0), 0U) << n.port << " " << args << ": " << r.out;
  };
  cli(to, "cluster setslot " + s + " importing " + from.id);
  cli(from, "cluster setslot " + s + " migrating " + to.id);
  cli(to, "cluster setslot " + s + " node " + to.id);
  cli(from, "cluster setslot " + s + " node " + to.id);
  for (const auto& n : nodes) {
    if (n.id != from.id && n.id != to.id && IsMaster(n.port)) {
      cli(n, "cluster setslot " + s + " node " + to.id);
    }
  }
}

class RedisCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    auto cfg = redis::ParseUrl(EnvOr("LAMBDA_TEST_REDIS_URL"));
    ASSERT_TRUE(cfg.ok());
    ASSERT_TRUE(cfg->cluster) << "not a cluster: " << EnvOr("LAMBDA_TEST_REDIS_URL");
    client_ = std::make_unique<redis::ClusterClient>(&loop_, *cfg, 100);
    client_->Start();
    ASSERT_TRUE(RunUntil([&] { return client_->healthy_slots() == redis::keys::kSlots; },
                         std::chrono::seconds(10)))
        << client_->healthy_slots() << " slots served";
  }
  void TearDown() override {
    if (client_) client_->Stop();
    client_.reset();
    EXPECT_TRUE(uv::DrainAndClose(&loop_));
  }
  bool RunUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    return testing::RunLoopUntil(&loop_, pred, timeout);
  }
  /// SET then GET of `n` keys spread over every slot range; how many came back right.
  int RoundTrip(int n, const std::string& tag) {
    int right = 0, answered = 0;
    std::string first_wrong;
    for (int i = 0; i < n; ++i) {
      const std::string key = prefix_ + tag + std::to_string(i);
      client_->Command({"SET", key, std::to_string(i)}, [](Result<redis::Value>) {});
      client_->Command({"GET", key}, [&, i](Result<redis::Value> r) {
        ++answered;
        if (r && r->str == std::to_string(i)) {
          ++right;
        } else if (first_wrong.empty()) {
          first_wrong = !r ? r.error().message : r->is_error() ? r->str : "got " + r->str;
        }
      });
    }
    RunUntil([&] { return answered == n; }, std::chrono::seconds(10));
    if (right != n) {
      std::printf("round trip %s: %d of %d answered, %d right; first wrong: %s\n", tag.c_str(),
                  answered, n, right, first_wrong.c_str());
    }
    return right;
  }

  uv_loop_t loop_;
  std::unique_ptr<redis::ClusterClient> client_;
  std::string prefix_ = testing::UniquePrefix("rc") + ":";
};

TEST_F(RedisCluster, CommandsAndScriptsReachEveryMaster) {
  int masters = 0;
  for (const auto& n : Nodes()) masters += n.master ? 1 : 0;
  ASSERT_EQ(masters, 3);
  EXPECT_EQ(RoundTrip(300, "k"), 300);
  // Scripts on instances all over the cluster: each node loads the script on its own first
  // NOSCRIPT (its cache is its own).
  int ok = 0, answered = 0;
  std::set<int> slots;
  for (int i = 0; i < 30; ++i) {
    const std::string id = util::NewUuid();
    slots.insert(redis::keys::SlotOf(redis::keys::Instance(prefix_, id)));
    const redis::args::RenewLease renew{prefix_, id, "w", 1000, 1};
    client_->EvalSha(redis::scripts::RenewLease(), renew.Keys(), renew.Argv(),
                     [&](Result<redis::Value> r) {
                       ++answered;
                       if (r && !r->is_error() && r->AsInt() == 0) ++ok;
                     });
  }
  ASSERT_TRUE(RunUntil([&] { return answered == 30; }, std::chrono::seconds(10)));
  EXPECT_EQ(ok, 30);
  EXPECT_GT(slots.size(), 20U);
}

TEST_F(RedisCluster, ASlotMovedUnderItIsFollowedAndLearnt) {
  // An empty slot handed from its master to another one, behind the client's back.
  const std::string key = prefix_ + "moving";
  const int slot = redis::keys::SlotOf(key);
  // Who owns the slot is asked of the masters themselves (each answers for its own slots):
  // a node's `cluster nodes` view can lag a failover of an earlier case.
  ASSERT_TRUE(testing::RedisClusterIsWhole(std::chrono::seconds(30)));
  auto nodes = Nodes();
  const Node* from = nullptr;
  const Node* to = nullptr;
  for (const auto& n : nodes) {
    if (!IsMaster(n.port)) continue;
    if (!Redirects(n.port, key)) {
      from = &n;
    } else if (to == nullptr) {
      to = &n;
    }
  }
  ASSERT_NE(from, nullptr);
  ASSERT_NE(to, nullptr);
  MoveEmptySlot(slot, *from, *to, nodes);
  ASSERT_TRUE(
      testing::WaitFor([&] { return Redirects(from->port, key) && !Redirects(to->port, key); },
                       std::chrono::seconds(10)))
      << "the slot did not move";
  const uint64_t before = client_->redirects();
  std::string got;
  client_->Command({"SET", key, "moved"}, [](Result<redis::Value>) {});
  client_->Command({"GET", key}, [&](Result<redis::Value> r) { got = r ? r->str : "error"; });
  ASSERT_TRUE(RunUntil([&] { return !got.empty(); }, std::chrono::seconds(5)));
  EXPECT_EQ(got, "moved");
  EXPECT_GT(client_->redirects(), before) << "the move was never noticed";
  // Learnt: the next command for the slot goes straight to its new master.
  const uint64_t learnt = client_->redirects();
  got.clear();
  client_->Command({"GET", key}, [&](Result<redis::Value> r) { got = r ? r->str : "error"; });
  ASSERT_TRUE(RunUntil([&] { return !got.empty(); }, std::chrono::seconds(5)));
  EXPECT_EQ(client_->redirects(), learnt);
  // Handed back, so the cluster is as it was for the cases after this one.
  testing::RunCommand("redis-cli -p " + std::to_string(to->port) + " del " + key);
  MoveEmptySlot(slot, *to, *from, nodes);
  EXPECT_TRUE(
      testing::WaitFor([&] { return Redirects(to->port, key) && !Redirects(from->port, key); },
                       std::chrono::seconds(10)));
}

TEST_F(RedisCluster, ARefusedCommandIsSentAgainUntilTheSlotServesIt) {
  // A master whose slot is marked MIGRATING refuses a multi-key command that finds only some of
  // its keys with TRYAGAIN, before running it (the path CLUSTERDOWN takes too: a failover's
  // nodes answer it for a moment after the map names the promoted replica). The client sends
  // the command again until the slot is stable, and past its retry time hands the answer on.
  // MIGRATING is the owner's own state, never gossiped, so no other node's map changes.
  const std::string kept = prefix_ + "{refused}kept";
  const std::string missing = prefix_ + "{refused}missing";
  const std::string slot = std::to_string(redis::keys::SlotOf(kept));
  ASSERT_TRUE(testing::RedisClusterIsWhole(std::chrono::seconds(30)));
  int owner = 0;
  std::string other_id;
  for (const auto& n : Nodes()) {
    if (!IsMaster(n.port)) continue;
    if (!Redirects(n.port, kept)) {
      owner = n.port;
    } else {
      other_id = n.id;
    }
  }
  ASSERT_GT(owner, 0);
  ASSERT_FALSE(other_id.empty());
  const std::string cli = "redis-cli -p " + std::to_string(owner) + " ";
  ASSERT_EQ(testing::RunCommand(cli + "set " + kept + " here").out.rfind("OK", 0), 0U);
  auto refuse = [&] {
    ASSERT_EQ(testing::RunCommand(cli + "cluster setslot " + slot + " migrating " + other_id)
                  .out.rfind("OK", 0),
              0U);
    ASSERT_EQ(testing::RunCommand(cli + "mget " + kept + " " + missing + " 2>&1")
                  .out.rfind("TRYAGAIN", 0),
              0U)
        << "the owner did not refuse the command";
  };
  auto serve = [&] {
    ASSERT_EQ(testing::RunCommand(cli + "cluster setslot " + slot + " stable").out.rfind("OK", 0),
              0U);
  };
  std::optional<std::string> got;
  auto mget = [&] {
    got.reset();
    client_->Command({"MGET", kept, missing}, [&](Result<redis::Value> r) {
      if (!r) {
        got = r.error().message;
      } else if (r->is_error()) {
        got = r->str;
      } else {
        got = r->elements.empty() ? "empty" : r->elements[0].str;
      }
    });
  };

  refuse();
  const uint64_t retries = client_->retries();
  mget();
  RunUntil([] { return false; }, std::chrono::milliseconds(400));
  EXPECT_FALSE(got.has_value()) << "answered while the slot refused it: " << *got;
  serve();
  ASSERT_TRUE(RunUntil([&] { return got.has_value(); }, std::chrono::seconds(5)));
  EXPECT_EQ(*got, "here");
  EXPECT_GT(client_->retries(), retries) << "never sent again";

  // Refused for longer than the retry time (1 s by default): the caller gets the refusal.
  refuse();
  const auto sent = std::chrono::steady_clock::now();
  mget();
  ASSERT_TRUE(RunUntil([&] { return got.has_value(); }, std::chrono::seconds(5)));
  const auto waited = std::chrono::steady_clock::now() - sent;
  serve();
  EXPECT_EQ(got->rfind("TRYAGAIN", 0), 0U) << *got;
  EXPECT_GE(waited, std::chrono::milliseconds(900));
  testing::RunCommand(cli + "del " + kept);
}

TEST_F(RedisCluster, AMasterKilledIsReplacedByItsReplicaWithoutARestart) {
  Node victim;
  for (const auto& n : Nodes()) {
    if (n.master && n.port != std::atoi(EnvOr("LAMBDA_TEST_REDIS_PORT_1").c_str())) victim = n;
  }
  ASSERT_GT(victim.port, 0);
  const std::string dir = NodeDirOfPort(victim.port);
  ASSERT_FALSE(dir.empty());
  ASSERT_EQ(RoundTrip(100, "before"), 100);
  auto killed = std::chrono::steady_clock::now();
  ASSERT_EQ(testing::RunCommand("kill -KILL $(cat " + dir + "/redis.pid)").rc, 0);
  // Its slots answer kUnavailable until the replica is promoted, then everything works again.
  ASSERT_TRUE(RunUntil([&] { return client_->healthy_slots() < redis::keys::kSlots; },
                       std::chrono::seconds(5)))
      << "the kill was never noticed";
  ASSERT_TRUE(RunUntil([&] { return client_->healthy_slots() == redis::keys::kSlots; },
                       std::chrono::seconds(30)))
      << "no replica took the slots over";
  auto back_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - killed)
                     .count();
  EXPECT_EQ(RoundTrip(100, "after"), 100);
  std::printf("redis cluster: master :%d killed; all 16384 slots served again after %lld ms\n",
              victim.port, static_cast<long long>(back_ms));
  // Back as a replica of the promoted node, so the cases after this one find 3 + 3 again.
  ASSERT_EQ(testing::RunCommand("bash -c 'source \"" + EnvOr("LAMBDA_TEST_SCRIPTS") +
                                "\" && start_redis_cluster_node \"" + dir + "\" " +
                                std::to_string(victim.port) + "'")
                .rc,
            0);
  EXPECT_TRUE(testing::RedisClusterIsWhole(std::chrono::seconds(30)));
}

}  // namespace
}  // namespace lambda

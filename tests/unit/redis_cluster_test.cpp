// Redis Cluster, the pure parts: the key layout's slots and tags, seed URLs, CLUSTER SLOTS and
// redirect answers, and group commit kept to one slot per group.
#include <gtest/gtest.h>

#include "lambda/redis/cluster_client.h"
#include "lambda/redis/grouping_client.h"
#include "lambda/redis/keys.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "redis_values.h"

namespace lambda::redis {
namespace {

using testing::Array;
using testing::Int;
using testing::Str;

Value Err(const std::string& text) {
  Value v;
  v.type = Value::Type::kError;
  v.str = text;
  return v;
}

TEST(Keys, SlotsAreRedisClustersOwn) {
  // The examples of the Redis Cluster specification (CRC16/XMODEM mod 16384).
  EXPECT_EQ(keys::SlotOf("123456789"), 0x31C3 % keys::kSlots);
  EXPECT_EQ(keys::SlotOf("foo"), 12182);
  EXPECT_EQ(keys::SlotOf("{user1000}.following"), keys::SlotOf("user1000"));
  EXPECT_EQ(keys::SlotOf("foo{}{bar}"), keys::SlotOf("foo{}{bar}"));  // empty tag: the whole key
  EXPECT_NE(keys::SlotOf("foo{}{bar}"), keys::SlotOf("bar"));
}

TEST(Keys, AnInstancesKeysAndItsOutboxBucketShareOneSlot) {
  const std::string id = "6f1c2d9e-0a4b-4c8e-9d7f-1b2a3c4d5e6f";
  const int slot = keys::SlotOf(keys::Instance("lambda:", id));
  EXPECT_EQ(keys::Instance("lambda:", id), "lambda:i:{" + id + "}");
  for (const auto& k : {keys::History("lambda:", id), keys::PendingOf("lambda:", id)}) {
    EXPECT_EQ(keys::SlotOf(k), slot) << k;
  }
  // Every slot has a bucket of its own, in that slot.
  for (int s = 0; s < keys::kSlots; ++s) {
    ASSERT_EQ(keys::SlotOf(keys::PendingBucket("p:", s)), s);
  }
  EXPECT_EQ(keys::SlotOf(keys::TenantIds("p:", "acme")),
            keys::SlotOf(keys::TenantLive("p:", "acme")));
  EXPECT_TRUE(keys::IsValidPrefix("lambda:"));
  EXPECT_FALSE(keys::IsValidPrefix("lambda{x}:"));
}

TEST(Keys, EveryScriptCallDeclaresKeysOfOneSlot) {
  const std::string id = "0b9a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
  auto one_slot = [](const std::vector<std::string>& ks) {
    if (ks.empty()) return false;
    for (const auto& k : ks) {
      if (keys::SlotOf(k) != keys::SlotOf(ks.front())) return false;
    }
    return true;
  };
  auto keys_of = [&id](auto a) {
    a.prefix = "p:";
    a.id = id;
    return a.Keys();
  };
  EXPECT_TRUE(one_slot(keys_of(args::Admit{})));
  EXPECT_TRUE(one_slot(keys_of(args::AdmitCreate{})));
  EXPECT_TRUE(one_slot(keys_of(args::Claim{})));
  EXPECT_TRUE(one_slot(keys_of(args::WriteStatus{})));
  EXPECT_TRUE(one_slot(keys_of(args::RenewLease{})));
  EXPECT_TRUE(one_slot(keys_of(args::ReleaseForRetry{})));
  EXPECT_TRUE(one_slot(keys_of(args::ReconcileOne{})));
  args::IndexCreate index;
  index.prefix = "p:";
  index.tenant = "acme";
  index.id = id;
  EXPECT_TRUE(one_slot(index.Keys()));
  args::Confirm confirm;
  confirm.prefix = "p:";
  confirm.id_gens = {{id, "1"}};
  EXPECT_TRUE(one_slot(confirm.Keys()));
  args::UndoAdmission undo;
  undo.prefix = "p:";
  undo.id_gens = {{id, "1"}};
  EXPECT_TRUE(one_slot(undo.Keys()));
  EXPECT_EQ(undo.Keys().size(), 3U);  // as undo_admission.lua documents
  args::Page page;
  page.prefix = "p:";
  page.tenant = "acme";
  EXPECT_TRUE(one_slot(page.Keys()));
  args::ReconcilerLease lease;
  lease.prefix = "p:";
  EXPECT_TRUE(one_slot(lease.Keys()));
  EXPECT_EQ(keys_of(args::WriteStatus{}).size(), 3U);  // as write_status.lua documents
}

TEST(ClusterUrl, SeedsAreAListAfterTheClusterScheme) {
  auto c = ParseUrl("redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001,10.0.0.3");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->cluster);
  EXPECT_EQ(c->host, "10.0.0.1");
  EXPECT_EQ(c->port, 7000);
  EXPECT_EQ(c->password, "pw");
  ASSERT_EQ(c->more_nodes.size(), 2U);
  using Node = std::pair<std::string, int>;
  EXPECT_EQ(c->more_nodes[0], Node("10.0.0.2", 7001));
  EXPECT_EQ(c->more_nodes[1], Node("10.0.0.3", 6379));
  EXPECT_FALSE(ParseUrl("redis+cluster://a:1,b:99999").ok());
  EXPECT_FALSE(ParseUrl("redis+cluster://a:1,,b:2").ok());
  EXPECT_FALSE(ParseUrl("redis+cluster://a:1/3").ok());  // a cluster has database 0 only
  auto several = ParseUrl("redis://a:1,b:2");
  ASSERT_FALSE(several.ok());
  EXPECT_NE(several.error().message.find("redis+cluster://"), std::string::npos);
  EXPECT_FALSE(ParseUrl("redis://a:1")->cluster);
}

TEST(ClusterSlots, RangesWithTheirMastersAndReplicas) {
  auto node = [](const std::string& ip, int port) {
    return Array({Str(ip), Int(port), Str("id"), Array({})});
  };
  auto map = ParseClusterSlots(
      Array({Array({Int(0), Int(5460), node("10.0.0.1", 7000), node("10.0.0.4", 7003)}),
             Array({Int(5461), Int(16383), node("", 7001)})}),
      "10.9.9.9");
  ASSERT_TRUE(map.ok()) << map.error().message;
  ASSERT_EQ(map->size(), 2U);
  EXPECT_EQ((*map)[0].first, 0);
  EXPECT_EQ((*map)[0].last, 5460);
  EXPECT_EQ((*map)[0].master, "10.0.0.1:7000");
  EXPECT_EQ((*map)[0].replicas, (std::vector<std::string>{"10.0.0.4:7003"}));
  EXPECT_EQ((*map)[1].master, "10.9.9.9:7001");  // no ip of its own: the node asked
  EXPECT_FALSE(ParseClusterSlots(Array({Array({Int(0), Int(16384), node("a", 1)})}), "h").ok());
  EXPECT_FALSE(ParseClusterSlots(Array({Array({Int(9), Int(3), node("a", 1)})}), "h").ok());
  EXPECT_FALSE(ParseClusterSlots(Err("ERR This instance has cluster "
                                     "support disabled"),
                                 "h")
                   .ok());
}

TEST(ClusterSlots, MovedAndAskNameTheSlotAndTheNode) {
  auto moved = ParseRedirect(Err("MOVED 3999 127.0.0.1:6381"));
  ASSERT_TRUE(moved.has_value());
  EXPECT_FALSE(moved->ask);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->addr, "127.0.0.1:6381");
  auto ask = ParseRedirect(Err("ASK 12 10.0.0.2:7000"));
  ASSERT_TRUE(ask.has_value());
  EXPECT_TRUE(ask->ask);
  EXPECT_FALSE(ParseRedirect(Err("MOVED 99999 h:1")).has_value());
  EXPECT_FALSE(ParseRedirect(Err("ERR wrong")).has_value());
  EXPECT_FALSE(ParseRedirect(Str("MOVED 1 h:1")).has_value());  // not an error answer
}

/// Records what reaches Redis.
class RecordingClient : public Client {
 public:
  struct Sent {
    std::string script;
    std::vector<std::string> keys;
  };
  bool connected() const override { return true; }
  void Command(const std::vector<std::string>&, Callback cb) override { cb(Str("OK")); }
  void EvalSha(const Script& script, const std::vector<std::string>& keys, std::vector<std::string>,
               Callback cb) override {
    sent.push_back({std::string(script.name), keys});
    cb(Array({}));
  }
  void WaitReplicas(const std::string& key, int replicas, uint64_t, Callback cb) override {
    waited.push_back(key);
    cb(Int(replicas));
  }
  std::vector<Sent> sent;
  std::vector<std::string> waited;
};

TEST(Grouping, OnAClusterAGroupHoldsOneSlotsCallsOnly) {
  RecordingClient inner;
  GroupingClient grouped(nullptr, inner, 128, true);
  const std::string a = "0b9a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
  const std::string b = "6f1c2d9e-0a4b-4c8e-9d7f-1b2a3c4d5e6f";
  ASSERT_NE(keys::SlotOf(keys::Instance("p:", a)), keys::SlotOf(keys::Instance("p:", b)));
  for (const auto& id : {a, b, a}) {
    const args::Claim claim{"p:", id, 1, "w", 1000};
    grouped.EvalSha(scripts::Claim(), claim.Keys(), claim.Argv(), [](Result<Value>) {});
  }
  grouped.Flush();
  // a's two claims as one group (their keys in order), b's alone.
  ASSERT_EQ(inner.sent.size(), 2U);
  std::map<std::string, size_t> by_script;
  for (const auto& s : inner.sent) {
    for (const auto& k : s.keys) EXPECT_EQ(keys::SlotOf(k), keys::SlotOf(s.keys.front()));
    by_script[s.script] = s.keys.size();
  }
  EXPECT_EQ(by_script["group"], 2U);
  EXPECT_EQ(by_script["claim"], 1U);
  // One server: every call of the turn in one group.
  RecordingClient single;
  GroupingClient all(nullptr, single, 128, false);
  for (const auto& id : {a, b}) {
    const args::Claim claim{"p:", id, 1, "w", 1000};
    all.EvalSha(scripts::Claim(), claim.Keys(), claim.Argv(), [](Result<Value>) {});
  }
  all.Flush();
  ASSERT_EQ(single.sent.size(), 1U);
  EXPECT_EQ(single.sent[0].keys.size(), 2U);
}

TEST(Grouping, AWaitGoesToTheConnectionOfItsKey) {
  // Not a plain command routed by its first argument ("1" would name some other node).
  RecordingClient inner;
  GroupingClient grouped(nullptr, inner, 128, true);
  int64_t acked = -1;
  grouped.WaitReplicas("p:i:{x}", 1, 500, [&](Result<Value> r) { acked = r->AsInt(); });
  EXPECT_EQ(inner.waited, (std::vector<std::string>{"p:i:{x}"}));
  EXPECT_EQ(acked, 1);
}

}  // namespace
}  // namespace lambda::redis

// SPEC §4.5: the tag scripts against a real redis-server — tags stored and indexed with the
// create (index_create.lua), replaced with their index entries at once (tags_replace.lua), and
// selected smallest index first, in creation order, page by page (select.lua).
#include <gtest/gtest.h>

#include "lambda/domain/tags.h"
#include "lambda/redis/keys.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"
#include "support.h"

namespace lambda {
namespace {

using testing::SyncRedis;

class TagScripts : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = std::make_unique<SyncRedis>(testing::EnvOr("LAMBDA_TEST_REDIS_URL"));
    prefix_ = testing::UniquePrefix("tags") + ":";
  }
  template <typename ScriptArgs>
  std::vector<std::string> Eval(const redis::Script& s, const ScriptArgs& a) {
    auto keys = a.Keys();
    auto args = a.Argv();
    std::vector<std::string> argv{"EVAL", std::string(s.body), std::to_string(keys.size())};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return redis_->Array(argv);
  }
  std::string Index(const std::string& tenant, const domain::Tags& tags) {
    std::string id = util::NewUuid();
    redis::args::IndexCreate a{prefix_, tenant, id, ++seq_, -1, tags};
    EXPECT_EQ(Eval(redis::scripts::IndexCreate(), a).at(0), "1");
    return id;
  }
  std::string TagIndex(const std::string& tenant, const std::string& k, const std::string& v) {
    return redis::keys::TenantTagIndex(prefix_, tenant, k, v);
  }
  std::vector<std::string> Members(const std::string& key) {
    return redis_->Array({"ZRANGE", key, "0", "-1"});
  }
  std::vector<std::string> Replace(const std::string& tenant, const std::string& id,
                                   const domain::Tags& old_tags, const domain::Tags& new_tags) {
    return Eval(redis::scripts::TagsReplace(),
                redis::args::TagsReplace{prefix_, tenant, id, old_tags, new_tags});
  }
  /// Every page of a selection: the ids in order, and how many calls it took.
  std::pair<std::vector<std::string>, int> SelectAll(redis::args::Select a) {
    std::vector<std::string> ids;
    int calls = 0;
    while (true) {
      auto r = Eval(redis::scripts::Select(), a);
      ++calls;
      for (size_t i = 1; i + 1 < r.size(); i += 2) ids.push_back(r[i]);
      if (r.at(0).empty() || calls > 10000) break;
      a.after = std::stoll(r[0]);
    }
    return {ids, calls};
  }

  std::unique_ptr<SyncRedis> redis_;
  std::string prefix_;
  int64_t seq_ = 0;
};

TEST_F(TagScripts, IndexCreateStoresAndIndexesTagsInTheTenantsSlot) {
  auto id = Index("t1", {{"team", "x"}, {"env", "dev"}});
  EXPECT_EQ(redis_->Cmd({"HGET", redis::keys::TenantTags(prefix_, "t1"), id}),
            R"({"env":"dev","team":"x"})");
  EXPECT_EQ(redis_->Cmd({"ZSCORE", TagIndex("t1", "team", "x"), id}), "1");
  EXPECT_EQ(redis_->Cmd({"ZSCORE", TagIndex("t1", "env", "dev"), id}), "1");
  // One slot: the tenant's (a script may touch all of them on Redis Cluster).
  const int slot = redis::keys::SlotOf(redis::keys::TenantIds(prefix_, "t1"));
  EXPECT_EQ(redis::keys::SlotOf(redis::keys::TenantTags(prefix_, "t1")), slot);
  EXPECT_EQ(redis::keys::SlotOf(TagIndex("t1", "url", "http://{x}:1")), slot);
  // No tags: the three keys of before, and nothing stored.
  auto plain = Index("t1", {});
  EXPECT_EQ((redis::args::IndexCreate{prefix_, "t1", plain, 2, -1, {}}).Keys().size(), 3u);
  EXPECT_EQ(redis_->Int({"HEXISTS", redis::keys::TenantTags(prefix_, "t1"), plain}), 0);
  // Over quota: no tag is stored or indexed either.
  redis::args::IndexCreate over{prefix_, "t1", util::NewUuid(), 9, 2, {{"team", "q"}}};
  EXPECT_EQ(Eval(redis::scripts::IndexCreate(), over).at(0), "quota");
  EXPECT_EQ(redis_->Int({"EXISTS", TagIndex("t1", "team", "q")}), 0);
  EXPECT_EQ(redis_->Int({"HLEN", redis::keys::TenantTags(prefix_, "t1")}), 1);
}

TEST_F(TagScripts, ReplaceMovesEveryIndexEntryAtOnceOrNothing) {
  auto id = Index("t1", {{"team", "x"}, {"env", "dev"}});
  const domain::Tags old_tags{{"team", "x"}, {"env", "dev"}};
  // Stale expectation: nothing written, the current tags answered for a retry.
  EXPECT_EQ(Replace("t1", id, {{"team", "x"}}, {{"team", "y"}}),
            (std::vector<std::string>{"changed", R"({"env":"dev","team":"x"})"}));
  EXPECT_EQ(Members(TagIndex("t1", "team", "x")), (std::vector<std::string>{id}));
  EXPECT_EQ(redis_->Int({"EXISTS", TagIndex("t1", "team", "y")}), 0);

  EXPECT_EQ(Replace("t1", id, old_tags, {{"team", "y"}, {"tier", "gold"}}),
            (std::vector<std::string>{"ok"}));
  EXPECT_EQ(redis_->Int({"EXISTS", TagIndex("t1", "team", "x")}), 0);
  EXPECT_EQ(redis_->Int({"EXISTS", TagIndex("t1", "env", "dev")}), 0);
  EXPECT_EQ(redis_->Cmd({"ZSCORE", TagIndex("t1", "team", "y"), id}), "1");  // its seq kept
  EXPECT_EQ(redis_->Cmd({"ZSCORE", TagIndex("t1", "tier", "gold"), id}), "1");
  EXPECT_EQ(redis_->Cmd({"HGET", redis::keys::TenantTags(prefix_, "t1"), id}),
            R"({"team":"y","tier":"gold"})");

  // Another tenant's id (not in this tenant's index): not found, nothing written.
  auto theirs = Index("t2", {{"team", "z"}});
  EXPECT_EQ(Replace("t1", theirs, {}, {{"team", "y"}}), (std::vector<std::string>{"notfound"}));
  EXPECT_EQ(Members(TagIndex("t1", "team", "y")), (std::vector<std::string>{id}));
  EXPECT_EQ(Members(TagIndex("t2", "team", "z")), (std::vector<std::string>{theirs}));

  // Cleared: no entry anywhere.
  EXPECT_EQ(Replace("t1", id, {{"team", "y"}, {"tier", "gold"}}, {}),
            (std::vector<std::string>{"ok"}));
  EXPECT_EQ(redis_->Int({"EXISTS", TagIndex("t1", "team", "y")}), 0);
  EXPECT_EQ(redis_->Int({"HEXISTS", redis::keys::TenantTags(prefix_, "t1"), id}), 0);
}

TEST_F(TagScripts, SelectWalksTheSmallestIndexInCreationOrderPageByPage) {
  std::vector<std::string> all, both;
  for (int i = 0; i < 700; ++i) {
    domain::Tags t{{"team", "a"}};
    if (i % 7 == 0) t["env"] = "dev";
    auto id = Index("t1", t);
    all.push_back(id);
    if (i % 7 == 0) both.push_back(id);
  }
  Index("t2", {{"team", "a"}, {"env", "dev"}});  // another tenant's: never selected

  redis::args::Select a{prefix_, "t1", {{"team", "a"}, {"env", "dev"}}, false, 0, 1000, 100000};
  auto [ids, calls] = SelectAll(a);
  EXPECT_EQ(ids, both);
  EXPECT_EQ(calls, 1);

  // Pages of 7 (100 matches): the same ids, in order, in 15 calls (the last finds the end).
  a.count = 7;
  auto [paged, paged_calls] = SelectAll(a);
  EXPECT_EQ(paged, both);
  EXPECT_EQ(paged_calls, 15);

  // The walk is of the smallest index (100 entries): a budget of 50 entries takes 2 pages plus
  // the end, whichever order the tags come in; walking the large one would take 14.
  a.count = 1000;
  a.budget = 50;
  EXPECT_EQ(SelectAll(a).first, both);
  EXPECT_EQ(SelectAll(a).second, 3);

  // Tags alone over 700: chunks of 256 read until the end.
  redis::args::Select team{prefix_, "t1", {{"team", "a"}}, false, 0, 1000, 100000};
  EXPECT_EQ(SelectAll(team).first, all);
  // No tags: the tenant's ids; live only: its live ids.
  redis::args::Select none{prefix_, "t1", {}, false, 0, 1000, 100000};
  EXPECT_EQ(SelectAll(none).first, all);
  redis_->Cmd({"ZREM", redis::keys::TenantLive(prefix_, "t1"), both[0]});
  redis::args::Select live{prefix_, "t1", {{"env", "dev"}}, true, 0, 1000, 100000};
  EXPECT_EQ(SelectAll(live).first, std::vector<std::string>(both.begin() + 1, both.end()));
  // A tag nobody has: the end at once.
  redis::args::Select nobody{prefix_, "t1", {{"team", "a"}, {"env", "prod"}}, false, 0, 10, 10};
  EXPECT_EQ(Eval(redis::scripts::Select(), nobody), (std::vector<std::string>{""}));
}

}  // namespace
}  // namespace lambda

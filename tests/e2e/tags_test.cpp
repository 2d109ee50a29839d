// End to end over HTTP (SPEC §4.5): tags on create, `PUT …/tags/`, the list's `?tag=` and
// `?status=` filters from the tenant's tag indexes, bad tags refused with nothing changed, and
// another tenant's instances never found nor listed.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <set>

#include "lambda/redis/keys.h"
#include "support.h"

namespace lambda {
namespace {

using testing::CreateBody;
using testing::Http;
using testing::Json;
using testing::Stack;

class Tags : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack(Stack::Options{});
    key_ = stack_->NewKey("acme");
    other_key_ = stack_->NewKey("globex");
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  static std::string Api(const std::string& path) {
    return stack_->url() + "/api/lambda-instances/" + path;
  }
  static std::vector<std::string> Headers(const std::string& key = key_) {
    return {"Authorization: Token " + key, "Content-Type: application/json"};
  }
  static std::string Create(const std::string& name, const std::string& tags,
                            const std::string& key = key_) {
    auto r = Http("POST", Api(""), Headers(key), CreateBody(name, R"("tags":)" + tags));
    EXPECT_EQ(r.status, 202) << r.body;
    if (r.status != 202) return "";
    return Json(r.body)["data"][0]["id"].GetString();
  }
  /// The ids a list answers, in order.
  static std::vector<std::string> Ids(const std::string& query, const std::string& key = key_) {
    auto r = Http("GET", Api("?" + query), Headers(key));
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    std::vector<std::string> out;
    if (r.status != 200) return out;
    auto d = Json(r.body);
    for (const auto& row : d["data"].GetArray()) out.emplace_back(row["id"].GetString());
    return out;
  }
  static std::string TagsOf(const std::string& id, const std::string& key = key_) {
    auto r = Http("GET", Api(id + "/"), Headers(key));
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body.substr(r.body.find("\"tags\":"));
  }

  static Stack* stack_;
  static std::string key_;
  static std::string other_key_;
};
Stack* Tags::stack_ = nullptr;
std::string Tags::key_;
std::string Tags::other_key_;

TEST_F(Tags, CreateWithTagsThenFilterByTagAndStatus) {
  const std::string team = "t" + std::to_string(::getpid());
  auto a = Create("a", R"({"team":")" + team + R"(","env":"dev"})");
  auto b = Create("b", R"({"team":")" + team + R"(","env":"prod"})");
  auto c = Create("c", R"({"team":"other","env":"dev"})");
  ASSERT_TRUE(stack_->WaitStatus(a, "STARTED", std::chrono::seconds(20)));
  ASSERT_TRUE(stack_->WaitStatus(b, "STARTED", std::chrono::seconds(20)));
  ASSERT_TRUE(stack_->WaitStatus(c, "STARTED", std::chrono::seconds(20)));

  EXPECT_EQ(Ids("tag=team:" + team), (std::vector<std::string>{a, b}));
  EXPECT_EQ(Ids("tag=team:" + team + "&tag=env:dev"), (std::vector<std::string>{a}));
  EXPECT_EQ(Ids("tag=env:dev&tag=team:nobody"), std::vector<std::string>{});
  EXPECT_EQ(Ids("tag=team:" + team + "&status=STARTED,STOPPED"), (std::vector<std::string>{a, b}));
  EXPECT_EQ(Ids("tag=team:" + team + "&status=STOPPED"), std::vector<std::string>{});

  // The tags show in the list and in the details.
  auto list = Http("GET", Api("?tag=team:" + team), Headers());
  auto d = Json(list.body);
  EXPECT_STREQ(d["data"][0]["tags"]["env"].GetString(), "dev");
  EXPECT_EQ(TagsOf(b), R"("tags":{"env":"prod","team":")" + team + R"("}}]})");

  // A stop moves b out of STARTED: the status filter reads each candidate's own status.
  auto stop = Http("POST", Api(b + "/"), Headers(), R"({"action":"stop"})");
  ASSERT_EQ(stop.status, 202) << stop.body;
  ASSERT_TRUE(stack_->WaitStatus(b, "STOPPED", std::chrono::seconds(20)));
  EXPECT_EQ(Ids("tag=team:" + team + "&status=STARTED"), (std::vector<std::string>{a}));
  EXPECT_EQ(Ids("tag=team:" + team + "&status=STOPPED"), (std::vector<std::string>{b}));

  // Pagination counts the matches and keeps the filters in its links.
  auto page = Http("GET", Api("?tag=team:" + team + "&limit=1"), Headers());
  auto p = Json(page.body);
  EXPECT_EQ(p["pagination"]["count"].GetInt(), 2);
  ASSERT_EQ(p["data"].Size(), 1u);
  EXPECT_EQ(std::string(p["data"][0]["id"].GetString()), a);
  std::string next = p["pagination"]["next"].GetString();
  EXPECT_NE(next.find("tag=team%3A" + team), std::string::npos) << next;
  auto second = Http("GET", next, Headers());
  EXPECT_EQ(std::string(Json(second.body)["data"][0]["id"].GetString()), b) << second.body;

  // Another tenant's filter over the same tags finds nothing of ours.
  EXPECT_EQ(Ids("tag=team:" + team, other_key_), std::vector<std::string>{});
}

TEST_F(Tags, PutReplacesTheWholeSetAndMovesTheIndex) {
  const std::string team = "r" + std::to_string(::getpid());
  auto id = Create("r", R"({"team":")" + team + R"(","env":"dev"})");
  ASSERT_FALSE(id.empty());
  auto put =
      Http("PUT", Api(id + "/tags/"), Headers(), R"({"tags":{"team":"new-)" + team + R"("}})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(Json(put.body)["data"][0]["tags"]["team"].GetString(), "new-" + team);
  EXPECT_EQ(Ids("tag=team:" + team), std::vector<std::string>{});
  EXPECT_EQ(Ids("tag=team:new-" + team), (std::vector<std::string>{id}));
  EXPECT_EQ(Ids("tag=env:dev&tag=team:new-" + team), std::vector<std::string>{});
  EXPECT_EQ(TagsOf(id), R"("tags":{"team":"new-)" + team + R"("}}]})");

  // {} clears them.
  ASSERT_EQ(Http("PUT", Api(id + "/tags"), Headers(), R"({"tags":{}})").status, 200);
  EXPECT_EQ(Ids("tag=team:new-" + team), std::vector<std::string>{});
  EXPECT_EQ(TagsOf(id), R"("tags":{}}]})");
}

TEST_F(Tags, BadTagsAre400sAndChangeNothing) {
  const std::string team = "b" + std::to_string(::getpid());
  auto before = Http("GET", Api("count/"), Headers());
  auto bad =
      Http("POST", Api(""), Headers(), CreateBody("x", R"("tags":{"Team":")" + team + "\"}"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("tags.Team: a tag key may only hold"), std::string::npos) << bad.body;
  std::string many = "{";
  for (int i = 0; i < 17; ++i) many += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":\"v\"";
  auto too_many = Http("POST", Api(""), Headers(), CreateBody("x", "\"tags\":" + many + "}"));
  EXPECT_EQ(too_many.status, 400);
  EXPECT_NE(too_many.body.find("tags: at most 16 tags"), std::string::npos) << too_many.body;
  EXPECT_EQ(Http("GET", Api("count/"), Headers()).body, before.body);

  auto id = Create("b", R"({"team":")" + team + R"("})");
  auto put = Http("PUT", Api(id + "/tags/"), Headers(),
                  R"({"tags":{"team":")" + std::string(256, 'x') + R"("}})");
  EXPECT_EQ(put.status, 400);
  EXPECT_NE(put.body.find("tags.team: a tag value must have at most 255 characters"),
            std::string::npos)
      << put.body;
  EXPECT_EQ(Http("PUT", Api(id + "/tags/"), Headers(), R"({"labels":{}})").status, 400);
  EXPECT_EQ(Ids("tag=team:" + team), (std::vector<std::string>{id}));

  // A destroyed instance keeps its tags (it is still listed): status tells it apart.
  ASSERT_TRUE(stack_->WaitStatus(id, "STARTED", std::chrono::seconds(20)));
  ASSERT_EQ(Http("DELETE", Api(id + "/"), Headers()).status, 202);
  ASSERT_TRUE(stack_->WaitStatus(id, "DESTROYED", std::chrono::seconds(20)));
  EXPECT_EQ(Ids("tag=team:" + team + "&status=DESTROYED"), (std::vector<std::string>{id}));
  EXPECT_EQ(Ids("tag=team:" + team + "&status=STARTED,PENDING"), std::vector<std::string>{});

  // Bad filters.
  EXPECT_EQ(Http("GET", Api("?tag=team"), Headers()).status, 400);
  EXPECT_EQ(Http("GET", Api("?status=RUNNING"), Headers()).status, 400);
}

TEST_F(Tags, AnotherTenantsInstanceIsNotFoundAndNeverListed) {
  const std::string team = "o" + std::to_string(::getpid());
  auto theirs = Create("theirs", R"({"team":")" + team + R"("})", other_key_);
  ASSERT_FALSE(theirs.empty());
  auto put = Http("PUT", Api(theirs + "/tags/"), Headers(), R"({"tags":{"team":"mine"}})");
  EXPECT_EQ(put.status, 404) << put.body;
  EXPECT_EQ(Ids("tag=team:" + team), std::vector<std::string>{});
  EXPECT_EQ(Ids("tag=team:mine"), std::vector<std::string>{});
  EXPECT_EQ(Ids("tag=team:" + team, other_key_), (std::vector<std::string>{theirs}));
  EXPECT_EQ(
      Http("PUT", Api("00000000-0000-4000-8000-000000000000/tags/"), Headers(), R"({"tags":{}})")
          .status,
      404);
}

}  // namespace
}  // namespace lambda

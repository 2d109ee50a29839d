// SPEC §4.5: tag validation and selector parsing (pure; the routes and the store rely on them).
#include "lambda/domain/tags.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace lambda::domain {
namespace {

rapidjson::Document Json(std::string_view text) {
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  EXPECT_FALSE(d.HasParseError()) << text;
  return d;
}

std::string Problem(std::string_view tags_json) {
  auto r = ParseTags(Json(tags_json));
  EXPECT_FALSE(r) << tags_json;
  return r ? std::string() : r.error().message;
}

TEST(Tags, AcceptsTheLimits) {
  std::string sixteen = "{";
  for (int i = 0; i < 16; ++i) sixteen += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":\"v\"";
  sixteen += "}";
  EXPECT_TRUE(ParseTags(Json(sixteen)));
  std::string key(63, 'a'), value(255, 'x');
  auto r = ParseTags(Json("{\"" + key + "\":\"" + value + "\",\"a_b.c-9\":\"\"}"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->at(key), value);
  EXPECT_EQ(r->at("a_b.c-9"), "");
  // 255 characters, not bytes: two-byte letters count once.
  std::string greek;
  for (int i = 0; i < 255; ++i) greek += "\xce\xb1";
  EXPECT_TRUE(ParseTags(Json("{\"g\":\"" + greek + "\"}")));
}

TEST(Tags, RefusesEachRuleNamingTheTag) {
  std::string seventeen = "{";
  for (int i = 0; i < 17; ++i) seventeen += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":\"v\"";
  seventeen += "}";
  EXPECT_EQ(Problem(seventeen), "tags: at most 16 tags");
  EXPECT_EQ(Problem("[]"), "tags: must be an object of tag keys to string values");
  EXPECT_EQ(Problem("{\"\":\"v\"}"), "tags.: a tag key must have 1..63 characters");
  EXPECT_EQ(Problem("{\"" + std::string(64, 'a') + "\":\"v\"}"),
            "tags: a tag key must have 1..63 characters");
  EXPECT_EQ(Problem("{\"Env\":\"v\"}"),
            "tags.Env: a tag key may only hold a-z, 0-9, '_', '.' and '-'");
  EXPECT_EQ(Problem("{\"a:b\":\"v\"}"),
            "tags.a:b: a tag key may only hold a-z, 0-9, '_', '.' and '-'");
  EXPECT_EQ(Problem("{\"env\":1}"), "tags.env: a tag value must be a string");
  EXPECT_EQ(Problem("{\"env\":\"" + std::string(256, 'x') + "\"}"),
            "tags.env: a tag value must have at most 255 characters");
  EXPECT_EQ(Problem("{\"env\":\"a\\u0001b\"}"),
            "tags.env: a tag value must hold printable characters only");
  EXPECT_EQ(Problem("{\"env\":\"a\\nb\"}"),
            "tags.env: a tag value must hold printable characters only");
  EXPECT_EQ(Problem("{\"env\":\"a\\u0085\"}"),
            "tags.env: a tag value must hold printable characters only");
  EXPECT_EQ(Problem("{\"env\":\"a\",\"env\":\"b\"}"), "tags.env: a tag key may appear once");
}

TEST(Tags, StoredFormRoundTripsInKeyOrder) {
  Tags t{{"team", "x"}, {"env", "dev \"q\""}};
  EXPECT_EQ(TagsJson(t), "{\"env\":\"dev \\\"q\\\"\",\"team\":\"x\"}");
  EXPECT_EQ(TagsFromJson(TagsJson(t)), t);
  EXPECT_EQ(TagsJson({}), "");
  EXPECT_TRUE(TagsFromJson("").empty());
  EXPECT_TRUE(TagsFromJson("not json").empty());
}

TEST(Selector, ParsesTagsAndStatuses) {
  auto s = ParseSelector(Json(R"({"tags":{"team":"x"},"status":["STARTED","STOPPED","STARTED"]})"));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->tags.at("team"), "x");
  ASSERT_EQ(s->statuses.size(), 2u);
  EXPECT_FALSE(s->MayMatchDestroyed());
  EXPECT_TRUE(s->Matches({{"team", "x"}, {"env", "dev"}}, InstanceStatus::kStarted));
  EXPECT_FALSE(s->Matches({{"team", "y"}}, InstanceStatus::kStarted));
  EXPECT_FALSE(s->Matches({{"team", "x"}}, InstanceStatus::kFailed));
  EXPECT_FALSE(s->Matches({}, InstanceStatus::kStarted));
  auto all = ParseSelector(Json("{}"));
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
  EXPECT_TRUE(all->MayMatchDestroyed());
  EXPECT_TRUE(all->Matches({}, InstanceStatus::kDestroyed));
}

TEST(Selector, RefusesWhatCannotBeMatched) {
  auto msg = [](std::string_view text) {
    auto s = ParseSelector(Json(text));
    EXPECT_FALSE(s) << text;
    return s ? std::string() : s.error().message;
  };
  EXPECT_EQ(msg(R"({"status":["RUNNING"]})"), "selector.status: unknown status 'RUNNING'");
  EXPECT_EQ(msg(R"({"status":"STARTED"})"), "selector.status: must be an array of status names");
  EXPECT_EQ(msg(R"({"status":[1]})"), "selector.status: must be an array of status names");
  EXPECT_EQ(msg(R"({"tags":{"Bad":"x"}})"),
            "selector.tags.Bad: a tag key may only hold a-z, 0-9, '_', '.' and '-'");
  EXPECT_EQ(msg(R"({"ids":[]})"), "selector.ids: unknown member (tags, status)");
  EXPECT_EQ(msg("[]"), "selector: must be an object with tags and/or status");
}

TEST(Selector, FromQueryParameters) {
  auto s = SelectorFromQuery({"team:x", "url:http://a:b"}, std::string("STARTED,FAILED"));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->tags.at("url"), "http://a:b");  // split at the first colon only
  EXPECT_EQ(s->statuses.size(), 2u);
  auto none = SelectorFromQuery({}, std::nullopt);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto empty_value = SelectorFromQuery({"team:"}, std::nullopt);
  ASSERT_TRUE(empty_value);
  EXPECT_EQ(empty_value->tags.at("team"), "");
  EXPECT_EQ(SelectorFromQuery({"team"}, std::nullopt).error().message, "tag: must be key:value");
  EXPECT_EQ(SelectorFromQuery({"Team:x"}, std::nullopt).error().message,
            "tag: a tag key may only hold a-z, 0-9, '_', '.' and '-'");
  EXPECT_EQ(SelectorFromQuery({"team:x", "team:y"}, std::nullopt).error().message,
            "tag.team: given twice with different values");
  EXPECT_TRUE(SelectorFromQuery({"team:x", "team:x"}, std::nullopt));
  EXPECT_EQ(SelectorFromQuery({}, std::string("STARTED,")).error().message,
            "status: unknown status ''");
  EXPECT_EQ(SelectorFromQuery({}, std::string("started")).error().message,
            "status: unknown status 'started'");
}

}  // namespace
}  // namespace lambda::domain

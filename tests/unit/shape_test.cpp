#include "routes/shape.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace lambda::routes {
namespace {

rapidjson::Document Parse(const std::string& s) {
  rapidjson::Document d;
  d.Parse(s.c_str());
  EXPECT_FALSE(d.HasParseError()) << s;
  return d;
}

TEST(Shape, ErrorBodies) {
  EXPECT_EQ(
      ErrorBody(404, "The specified lambda instance doesn't exist."),
      R"({"errors":[{"status":404,"detail":"The specified lambda instance doesn't exist."}]})");
  EXPECT_EQ(ValidationErrorBody(400, {"slaves: must be <= 64", "x: unknown field"}),
            R"({"errors":[{"status":400,"detail":["slaves: must be <= 64","x: unknown field"]}]})");
}

TEST(Shape, AcceptedBodiesAsTheSeedDocuments) {
  EXPECT_EQ(ActionAccepted(),
            R"({"status":{"code":202,"short-description":"Your request has been accepted"}})");
  auto d = Parse(DestroyAccepted());
  EXPECT_STREQ(d["status"]["short-description"].GetString(),
               "Your request to destroy the specified lambda instance has been accepted");
  auto c = Parse(CreateAccepted("id1", "http://h/api/lambda-instances/id1/"));
  EXPECT_EQ(c["status"]["code"].GetInt(), 202);
  EXPECT_STREQ(c["status"]["short_description"].GetString(),
               "Your request to create a new lambda instance has been accepted");
  EXPECT_STREQ(c["data"][0]["id"].GetString(), "id1");
  EXPECT_STREQ(c["data"][0]["links"]["self"].GetString(), "http://h/api/lambda-instances/id1/");
}

TEST(Shape, ListWithAndWithoutPagination) {
  std::vector<ListRow> rows{{"a", "n1", domain::InstanceStatus::kStarted, "", 1},
                            {"b", "n2", domain::InstanceStatus::kFailed, "boom", 2}};
  auto d = Parse(ListBody(rows, std::nullopt));
  EXPECT_FALSE(d.HasMember("pagination"));
  ASSERT_EQ(d["data"].Size(), 2u);
  EXPECT_STREQ(d["data"][0]["status"]["message"].GetString(), "STARTED");
  EXPECT_STREQ(d["data"][0]["status"]["code"].GetString(), "0");
  EXPECT_FALSE(d["data"][0]["status"].HasMember("failure_message"));
  EXPECT_STREQ(d["data"][1]["status"]["failure_message"].GetString(), "boom");
  auto p = Parse(ListBody(rows, Pagination{7, std::string("http://n"), std::nullopt}));
  EXPECT_EQ(p["pagination"]["count"].GetInt(), 7);
  EXPECT_STREQ(p["pagination"]["next"].GetString(), "http://n");
  EXPECT_TRUE(p["pagination"]["previous"].IsNull());
}

TEST(Shape, DetailsFilters) {
  InstanceRecord r;
  r.id = "i1";
  r.name = "n";
  r.status = domain::InstanceStatus::kKafkaFailed;
  r.failure_message = "kafka broke";
  r.info_json = R"({"instance_name":"n","slaves":1})";
  r.servers_json = R"([{"id":"s1","role":"master"}])";
  r.master_node_id = "s1";
  auto all = Parse(DetailsBody(r, DetailsFilter::kAll));
  const auto& d = all["data"][0];
  EXPECT_STREQ(d["info"]["instance_info"]["master_node_id"].GetString(), "s1");
  EXPECT_EQ(d["info"]["instance_info"]["slaves"].GetInt(), 1);
  EXPECT_STREQ(d["status"]["message"].GetString(), "KAFKA_FAILED");
  EXPECT_STREQ(d["status"]["code"].GetString(), "19");
  EXPECT_STREQ(d["servers"][0]["id"].GetString(), "s1");
  auto st = Parse(DetailsBody(r, DetailsFilter::kStatus));
  EXPECT_FALSE(st["data"][0].HasMember("info"));
  EXPECT_FALSE(st["data"][0].HasMember("servers"));
  EXPECT_TRUE(st["data"][0].HasMember("status"));
  auto info = Parse(DetailsBody(r, DetailsFilter::kInfo));
  EXPECT_TRUE(info["data"][0].HasMember("info"));
  EXPECT_FALSE(info["data"][0].HasMember("status"));
}

TEST(Shape, RecordFromHash) {
  EXPECT_FALSE(RecordFromHash({}).has_value());
  auto r = RecordFromHash({{"id", "x"}, {"seq", "4"}, {"status", "6"}, {"owner", "t"}});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->seq, 4);
  EXPECT_EQ(r->status, domain::InstanceStatus::kDestroyed);
}

}  // namespace
}  // namespace lambda::routes

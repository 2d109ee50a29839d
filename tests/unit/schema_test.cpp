// The contract files in schemas/: the create request and the command, as the binaries load them.
#include <gtest/gtest.h>

#include "lambda/domain/command.h"
#include "lambda/json/json.h"

namespace lambda {
namespace {

const char* kValid =
    R"({"instance_name":"a","master_name":"m","slaves":2,"vcpus_master":2,"vcpus_slave":1,"ram_master":1024,)"
    R"("ram_slave":1024,"disk_master":10,"disk_slave":10,"ip_allocation":"master","network_request":1,"project_name":"p"})";

std::vector<std::string> Check(const std::string& body) {
  static const json::Schema schema(json::CreateRequestSchemaText());
  rapidjson::Document d;
  EXPECT_TRUE(json::Parse(body, &d).ok()) << body;
  return schema.Validate(d);
}

std::string With(const std::string& field, const std::string& value) {
  std::string s = kValid;
  auto pos = s.find("\"" + field + "\":");
  if (pos == std::string::npos)
    return s.substr(0, s.size() - 1) + ",\"" + field + "\":" + value + "}";
  auto start = pos + field.size() + 3;
  auto end = s.find_first_of(",}", start);
  return s.substr(0, start) + value + s.substr(end);
}

TEST(CreateSchema, AcceptsValidBodyAndSimulate) {
  EXPECT_TRUE(Check(kValid).empty());
  EXPECT_TRUE(Check(With("simulate", R"({"fail_at":"KAFKA","step_ms":200})")).empty());
  EXPECT_TRUE(Check(With("public_key_name", R"("key1")")).empty());
}

TEST(CreateSchema, NamesTheFieldAndTheProblem) {
  EXPECT_EQ(Check(With("slaves", "65")), std::vector<std::string>{"slaves: must be <= 64"});
  EXPECT_EQ(Check(With("ram_master", "100")),
            std::vector<std::string>{"ram_master: must be >= 512"});
  EXPECT_EQ(Check(With("slaves", "\"2\"")),
            std::vector<std::string>{"slaves: must be of type integer"});
  EXPECT_EQ(Check(With("ip_allocation", "\"some\"")),
            std::vector<std::string>{"ip_allocation: must be one of none master all"});
  EXPECT_EQ(Check(With("bogus", "1")), std::vector<std::string>{"bogus: unknown field"});
  EXPECT_EQ(Check(With("instance_name", "\"\"")),
            std::vector<std::string>{"instance_name: must be at least 1 characters long"});
  EXPECT_EQ(Check(With("simulate", R"({"fail_at":"NOPE"})"))[0].rfind(
                "simulate.fail_at: must be one of", 0),
            0u);
  auto missing = Check(R"({"instance_name":"a"})");
  ASSERT_FALSE(missing.empty());
  EXPECT_EQ(missing[0], "master_name: missing required field");
  EXPECT_EQ(Check("[]"), std::vector<std::string>{"body: must be of type object"});
}

TEST(Command, RoundTripAndRejections) {
  domain::Command c;
  c.request_id = "r1";
  c.instance_id = "9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c";
  c.action = domain::Action::kStop;
  c.gen = 3;
  c.issued_at = 1700000000000;
  auto parsed = domain::ParseCommand(domain::ToJson(c));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->gen, 3);
  EXPECT_EQ(parsed->action, domain::Action::kStop);
  EXPECT_EQ(domain::ParseCommand("{").error().code, Code::kInvalidArgument);
  std::string v2 = domain::ToJson(c);
  v2.replace(v2.find("\"v\":1"), 5, "\"v\":2");
  EXPECT_EQ(domain::ParseCommand(v2).error().message, "v: unsupported command version");
  std::string bad = domain::ToJson(c);
  bad.replace(bad.find("stop"), 4, "nuke");
  EXPECT_NE(domain::ParseCommand(bad).error().message.find("action"), std::string::npos);
  EXPECT_FALSE(domain::ParseCommand(R"({"v":1})").ok());
}

TEST(Command, CarriesTheTransientAttemptCount) {
  domain::Command c;
  c.request_id = "r1";
  c.instance_id = "9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c";
  c.gen = 1;
  EXPECT_EQ(domain::ToJson(c).find("op_attempt"), std::string::npos);  // a first run says nothing
  EXPECT_EQ(domain::ParseCommand(domain::ToJson(c))->op_attempt, 1);
  c.op_attempt = 3;
  auto parsed = domain::ParseCommand(domain::ToJson(c));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->op_attempt, 3);
  std::string zero = domain::ToJson(c);
  zero.replace(zero.find("\"op_attempt\":3"), 14, "\"op_attempt\":0");
  EXPECT_NE(domain::ParseCommand(zero).error().message.find("op_attempt"), std::string::npos);
}

}  // namespace
}  // namespace lambda

// The worker parses commands with a typed walk (domain::ParseCommand); the command schema stays
// the oracle: every body here gets the same verdict from both.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "lambda/domain/command.h"
#include "lambda/json/json.h"

namespace lambda {
namespace {

const std::string kValid =
    R"({"v":1,"request_id":"r-1","instance_id":"9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c",)"
    R"("action":"start","gen":3,"issued_at":1700000000000,"attempt":1})";

/// kValid with `field` set to the JSON `value` (added when absent; removed when value is "").
std::string With(const std::string& field, const std::string& value) {
  rapidjson::Document d;
  d.Parse(kValid.c_str());
  d.RemoveMember(field.c_str());
  std::string s = json::View([&] {
                    rapidjson::StringBuffer sb;
                    json::Writer w(sb);
                    d.Accept(w);
                    return sb;
                  }())
                      .data();
  if (value.empty()) return s;
  return s.substr(0, s.size() - 1) + ",\"" + field + "\":" + value + "}";
}

bool SchemaAccepts(const std::string& body) {
  static const json::Schema schema(json::CommandSchemaText());
  rapidjson::Document d;
  if (!json::Parse(body, &d).ok()) return false;
  return schema.Validate(d).empty();
}

std::vector<std::string> Cases() {
  std::vector<std::string> c = {kValid, "{", "[]", "1", "\"x\"", "null", "{}"};
  for (const char* f : {"v", "request_id", "instance_id", "action", "gen", "issued_at", "attempt"})
    c.push_back(With(f, ""));
  for (const char* v : {"0", "1", "2", "1.0", "\"1\"", "-1", "true"}) c.push_back(With("v", v));
  for (const char* v : {"\"\"", "\"a\"", "1", "null", "\"\\u0000\"", "\"é\""}) {
    c.push_back(With("request_id", v));
  }
  c.push_back(With("request_id", "\"" + std::string(128, 'a') + "\""));
  c.push_back(With("request_id", "\"" + std::string(129, 'a') + "\""));
  c.push_back(With("request_id", "\"" + std::string(64, 'a') + std::string(64, 'e') + "\""));
  for (const char* v :
       {"\"9AC8E7AB-57F9-48A6-AF18-EF8A749B1E8C\"", "\"9ac8e7ab-57f9-38a6-af18-ef8a749b1e8c\"",
        "\"9ac8e7ab-57f9-48a6-cf18-ef8a749b1e8c\"", "\"9ac8e7ab57f948a6af18ef8a749b1e8c\"",
        "\"9ac8e7ab-57f9-48a6-bf18-ef8a749b1e8c\"", "\"9ac8e7ab-57f9-48a6-af18-ef8a749b1e8\"",
        "\"9ac8e7ab-57f9-48a6-af18-ef8a749b1e8cc\"", "\"9ac8e7ab-57f9-48a6-af18_ef8a749b1e8c\"",
        "7"}) {
    c.push_back(With("instance_id", v));
  }
  for (const char* v : {"\"create\"", "\"stop\"", "\"destroy\"", "\"pause\"", "\"resume\"",
                        "\"START\"", "\"nuke\"", "1"})
    c.push_back(With("action", v));
  for (const char* f : {"gen", "issued_at", "attempt", "op_attempt"}) {
    for (const char* v : {"0", "1", "-1", "1000", "1001", "9007199254740991", "9007199254740992",
                          "18446744073709551615", "1e3", "2.5", "\"3\"", "null"}) {
      c.push_back(With(f, v));
    }
  }
  c.push_back(kValid.substr(0, kValid.size() - 1) + ",\"extra\":1}");
  c.push_back(kValid.substr(0, kValid.size() - 1) + ",\"gen\":4}");  // a duplicate key
  for (const char* name : {"bad_version", "deep", "regression-issued-at-past-int64",
                           "regression-nul-in-request-id", "valid"}) {
    const char* src = std::getenv("LAMBDA_SOURCE_DIR");  // set for every test by the harness
    std::ifstream f(std::string(src ? src : ".") + "/fuzz/corpus/command/" + name);
    EXPECT_TRUE(f.good()) << name;
    std::stringstream ss;
    ss << f.rdbuf();
    c.push_back(ss.str());
  }
  return c;
}

TEST(CommandParse, AgreesWithTheSchemaOnEveryCase) {
  int accepted = 0;
  for (const auto& body : Cases()) {
    auto typed = domain::ParseCommand(body);
    EXPECT_EQ(typed.ok(), SchemaAccepts(body))
        << body << "\n  typed: " << (typed.ok() ? "accepts" : typed.error().message);
    if (typed.ok()) ++accepted;
  }
  EXPECT_GT(accepted, 20);  // the cases reach both verdicts
}

TEST(CommandParse, FelderasPauseAndResumeAreActions) {
  for (auto [name, action] :
       {std::pair{"pause", domain::Action::kPause}, std::pair{"resume", domain::Action::kResume}}) {
    auto c = domain::ParseCommand(With("action", std::string("\"") + name + "\""));
    ASSERT_TRUE(c.ok()) << name;
    EXPECT_EQ(c->action, action);
    EXPECT_EQ(domain::ActionName(action), name);
  }
}

TEST(CommandParse, NamesTheFieldAndTheProblem) {
  EXPECT_EQ(domain::ParseCommand(With("v", "2")).error().message, "v: unsupported command version");
  EXPECT_EQ(domain::ParseCommand(With("gen", "")).error().message, "gen: missing required field");
  EXPECT_EQ(domain::ParseCommand(With("attempt", "1001")).error().message, "attempt: out of range");
  EXPECT_EQ(domain::ParseCommand(kValid.substr(0, kValid.size() - 1) + ",\"x\":1}").error().message,
            "x: unknown field");
}

TEST(CommandParse, ABatchIsAnArrayOfCommandsAndOneBadElementRefusesIt) {
  domain::Command a, b;
  a.request_id = "r1";
  a.instance_id = "9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c";
  a.gen = 2;
  b = a;
  b.request_id = "r2";
  b.action = domain::Action::kStop;
  b.gen = 3;
  std::string body = domain::ToJson(std::vector<domain::Command>{a, b});
  ASSERT_EQ(body.front(), '[');
  auto batch = domain::ParseCommands(body);
  ASSERT_TRUE(batch.ok()) << batch.error().message;
  ASSERT_EQ(batch->size(), 2u);
  EXPECT_EQ((*batch)[1].request_id, "r2");
  EXPECT_EQ((*batch)[1].action, domain::Action::kStop);
  // One command is its object, as before batches existed: older workers read it.
  EXPECT_EQ(domain::ToJson(std::vector<domain::Command>{a}), domain::ToJson(a));
  EXPECT_EQ(domain::ParseCommands(domain::ToJson(a))->size(), 1u);
  EXPECT_EQ(domain::ParseCommands("[]").error().message, "commands: a batch holds 1..256");
  std::string bad = "[" + domain::ToJson(a) + "," + With("gen", "0") + "]";
  EXPECT_EQ(domain::ParseCommands(bad).error().message, "[1].gen: out of range");
  std::string big = "[";
  for (size_t i = 0; i <= domain::kMaxCommandsPerMessage; ++i) {
    big += (i ? "," : "") + domain::ToJson(a);
  }
  EXPECT_FALSE(domain::ParseCommands(big + "]").ok());
  EXPECT_FALSE(domain::ParseCommands("[[" + domain::ToJson(a) + "]]").ok());
}

}  // namespace
}  // namespace lambda

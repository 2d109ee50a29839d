// lambdactl's client logic without a server: the state file, exit codes, error texts, goals,
// the progress line, the SSE parser and the create body from flags.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "client_logic.h"
#include "lambda/json/json.h"

namespace lambda::ctl {
namespace {

using domain::InstanceStatus;

TEST(Lambdactl, TheStateFileAsScriptsUpWritesIt) {
  auto env = ParseEnvFile(
      "# written by scripts/up\nLAMBDA_URL=http://127.0.0.1:8080\n\nexport LAMBDA_API_KEY='k=1'\n"
      "LAMBDA_REDIS_URL=\"redis://h:1/0\"\nnot a line\n");
  EXPECT_EQ(env["LAMBDA_URL"], "http://127.0.0.1:8080");
  EXPECT_EQ(env["LAMBDA_API_KEY"], "k=1");
  EXPECT_EQ(env["LAMBDA_REDIS_URL"], "redis://h:1/0");
  EXPECT_EQ(env.size(), 3u);
}

TEST(Lambdactl, ExitCodesAndTheServersErrorTextInEveryDialect) {
  EXPECT_EQ(ExitForHttp(409), kRefused);
  EXPECT_EQ(ExitForHttp(404), kRefused);
  EXPECT_EQ(ExitForHttp(503), kUnreachable);
  EXPECT_EQ(ErrorText(R"({"errors":[{"status":409,"detail":"already stopped"}]})"),
            "already stopped");
  EXPECT_EQ(ErrorText(R"({"errors":[{"status":400,"detail":["a: bad","b: worse"]}]})"),
            "a: bad; b: worse");
  EXPECT_EQ(ErrorText(R"({"errors":[{"message":"Invalid token","code":401}]})"), "Invalid token");
  EXPECT_EQ(ErrorText(R"({"requestId":"r","code":"X","message":"zen"})"), "zen");
  EXPECT_EQ(ErrorText("  plain text\n"), "plain text");
}

TEST(Lambdactl, TenantNames) {
  EXPECT_TRUE(ValidTenant("acme"));
  EXPECT_TRUE(ValidTenant("team-1.dev_x"));
  EXPECT_TRUE(ValidTenant(std::string(64, 'a')));
  EXPECT_FALSE(ValidTenant(""));
  EXPECT_FALSE(ValidTenant(std::string(65, 'a')));
  EXPECT_FALSE(ValidTenant("a b"));
  EXPECT_FALSE(ValidTenant("a:b"));
  EXPECT_FALSE(ValidTenant("caf\xc3\xa9"));
}

TEST(Lambdactl, TenantLimitFlags) {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  auto [flags, error] =
      LimitFlags({"tenant", "set", "acme", "--max-instances", "5", "--rate=7", "--redis-prefix",
                  "p:", "--burst", "default", "--max-watchers", "0"});
  EXPECT_EQ(error, "");
  EXPECT_EQ(
      flags,
      (Pairs{{"max_instances", "5"}, {"rate", "7"}, {"burst", "default"}, {"max_watchers", "0"}}));
  EXPECT_NE(LimitFlags({"--rate", "0"}).second, "");  // a rate of 0 would refuse everything
  EXPECT_NE(LimitFlags({"--max-instances", "-1"}).second, "");
  EXPECT_NE(LimitFlags({"--max-instances"}).second.find("needs a value"), std::string::npos);
  EXPECT_NE(LimitFlags({"--max-active", "5"}).second.find("unknown flag"), std::string::npos);
  EXPECT_EQ(LimitFlags({"--max-inflight", "5"}).first, (Pairs{{"max_inflight", "5"}}));
}

TEST(Lambdactl, GoalsAndFailures) {
  auto create = *GoalOf("create");
  EXPECT_EQ(create.reached, InstanceStatus::kStarted);
  EXPECT_TRUE(IsFailure(create, InstanceStatus::kHadoopFailed));
  auto stop = *GoalOf("stop");
  EXPECT_EQ(stop.reached, InstanceStatus::kStopped);
  EXPECT_TRUE(IsFailure(stop, InstanceStatus::kFailed));
  EXPECT_FALSE(IsFailure(stop, InstanceStatus::kHadoopFailed));
  EXPECT_EQ(GoalOf("destroy")->reached, InstanceStatus::kDestroyed);
  EXPECT_FALSE(GoalOf("status"));
  // A cancel ends where its rollback goes, read from the status it wrote.
  EXPECT_EQ(GoalOfCancel(InstanceStatus::kDestroying)->reached, InstanceStatus::kDestroyed);
  EXPECT_EQ(GoalOfCancel(InstanceStatus::kStopping)->reached, InstanceStatus::kStopped);
  EXPECT_EQ(GoalOfCancel(InstanceStatus::kStarting)->reached, InstanceStatus::kStarted);
  EXPECT_EQ(GoalOfCancel(InstanceStatus::kStarted)->reached, InstanceStatus::kStarted);
  EXPECT_FALSE(GoalOfCancel(InstanceStatus::kPending));
}

TEST(Lambdactl, TheProgressLine) {
  auto create = *GoalOf("create");
  EXPECT_EQ(ProgressLine(create, InstanceStatus::kCommonsInstalled, 12.34),
            "[####----] 4/8 COMMONS_INSTALLED  12.3 s");
  EXPECT_EQ(ProgressLine(create, InstanceStatus::kStarted, 1), "[########] 8/8 STARTED  1.0 s");
  EXPECT_EQ(ProgressLine(create, InstanceStatus::kKafkaFailed, 2).rfind("[--------]    KAFKA", 0),
            0u);
  EXPECT_EQ(ProgressLine(*GoalOf("stop"), InstanceStatus::kStopping, 0.5), "STOPPING  0.5 s");
}

TEST(Lambdactl, TheSseParserAcrossChunksCommentsAndCrlf) {
  SseParser p;
  EXPECT_TRUE(p.Feed(": keep-alive\n\nid: 1-0\nevent: sta").empty());
  auto events = p.Feed("tus\ndata: {\"a\":1}\n\nid: 2-0\r\ndata: x\r\ndata: y\r\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id, "1-0");
  EXPECT_EQ(events[0].event, "status");
  EXPECT_EQ(events[0].data, "{\"a\":1}");
  EXPECT_EQ(events[1].data, "x\ny");
}

TEST(Lambdactl, ACreateBodyFromFlagsWithDefaults) {
  std::string error;
  EXPECT_TRUE(CreateBodyFromFlags({}, &error).empty());
  EXPECT_NE(error.find("--name"), std::string::npos);
  auto body = CreateBodyFromFlags({{"name", "demo"}, {"slaves", "3"}}, &error);
  rapidjson::Document d;
  ASSERT_TRUE(json::Parse(body, &d));
  EXPECT_STREQ(d["instance_name"].GetString(), "demo");
  EXPECT_STREQ(d["master_name"].GetString(), "demo-master");
  EXPECT_EQ(d["slaves"].GetInt(), 3);
  EXPECT_EQ(d["network_request"].GetInt(), 1);
  EXPECT_TRUE(CreateBodyFromFlags({{"name", "x"}, {"ram-master", "lots"}}, &error).empty());
  EXPECT_NE(error.find("--ram-master"), std::string::npos);
  // The create schema accepts it.
  json::Schema schema(json::CreateRequestSchemaText());
  EXPECT_TRUE(schema.Validate(d).empty());
}

TEST(LambdactlTerminal, ControlCharactersAreEscapedOnOutput) {
  EXPECT_EQ(ForTerminal("plain name-1 é ✓"), "plain name-1 é ✓");
  // C0 (escape, bell, newline, tab), DEL, and a backslash so the escapes stay unambiguous.
  EXPECT_EQ(ForTerminal("a\x1b[2Jb\x07\n\t\x7f\\"), "a\\x1b[2Jb\\x07\\x0a\\x09\\x7f\\\\");
  // C1 as UTF-8 (U+009B is a CSI on many terminals) and C1 as raw bytes (not UTF-8).
  EXPECT_EQ(ForTerminal("x\xc2\x9b"
                        "31m\xc2\x85"),
            "x\\u009b31m\\u0085");
  EXPECT_EQ(ForTerminal("x\x9b"
                        "31m\xff\xc2"),
            "x\\x9b31m\\xff\\xc2");
  EXPECT_EQ(ForTerminal(std::string("nul\0", 4)), "nul\\x00");
  // U+00A0 and beyond are text, kept.
  EXPECT_EQ(ForTerminal("\xc2\xa0\xf0\x9f\x98\x80"), "\xc2\xa0\xf0\x9f\x98\x80");
  // JSON output stays the same JSON: C1 and DEL become \u escapes, the rest is untouched.
  EXPECT_EQ(JsonForTerminal("{\"name\":\"a\xc2\x9b"
                            "b\x7f\\u001b\"}"),
            "{\"name\":\"a\\u009bb\\u007f\\u001b\"}");
}

}  // namespace
}  // namespace lambda::ctl

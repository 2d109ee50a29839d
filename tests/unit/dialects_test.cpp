#include "routes/dialects.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "lambda/domain/dialect_rules.h"

namespace lambda::routes {
namespace {

using domain::InstanceStatus;

TEST(Zenlayer, StatusNamesAsTheSpecMapsThem) {
  EXPECT_EQ(domain::zenlayer::StatusName(InstanceStatus::kPending), "CREATING");
  EXPECT_EQ(domain::zenlayer::StatusName(InstanceStatus::kHadoopInstalled), "CREATING");
  EXPECT_EQ(domain::zenlayer::StatusName(InstanceStatus::kStarting), "BOOTING");
  EXPECT_EQ(domain::zenlayer::StatusName(InstanceStatus::kStarted), "RUNNING");
  EXPECT_EQ(domain::zenlayer::StatusName(InstanceStatus::kStopping), "STOPPING");
  EXPECT_EQ(domain::zenlayer::StatusName(InstanceStatus::kStopped), "STOPPED");
  EXPECT_EQ(domain::zenlayer::StatusName(InstanceStatus::kDestroying), "RELEASING");
  EXPECT_EQ(domain::zenlayer::StatusName(InstanceStatus::kKafkaFailed), "CREATE_FAILED");
  EXPECT_EQ(domain::zenlayer::StatusName(InstanceStatus::kFailed), "FAILED");
  EXPECT_EQ(ZenlayerError("R", "C", "M"), R"({"requestId":"R","code":"C","message":"M"})");
  EXPECT_EQ(ZenlayerOk("R"), R"({"requestId":"R","response":{"requestId":"R"}})");
  EXPECT_EQ(
      ZenlayerDescribeBody("R", 7, {{"a", InstanceStatus::kStarted}}),
      R"({"requestId":"R","response":{"requestId":"R","totalCount":7,"dataSet":[{"instanceId":"a","instanceStatus":"RUNNING"}]}})");
}

TEST(Legacy, Shapes) {
  EXPECT_EQ(LegacyError(401, "Invalid token"),
            R"({"errors":[{"message":"Invalid token","code":401,"details":"unauthorized"}]})");
  EXPECT_EQ(LegacySuccess(), R"({"result":"Success"})");
  InstanceRecord r;
  r.id = "u";
  r.seq = 14;
  r.name = "Lambda Instance 2";
  r.status = InstanceStatus::kStarted;
  EXPECT_EQ(LegacyStatusBody(r),
            R"({"data":{"status":"STARTED","id":14,"name":"Lambda Instance 2","uuid":"u"}})");
  EXPECT_EQ(LegacyListBody({{"u", "n", InstanceStatus::kStarted, "", 3}}),
            R"({"data":[{"uuid":"u","name":"n","id":3}]})");
}

TEST(Feldera, StatesAndErrors) {
  EXPECT_EQ(FelderaStateOf(InstanceStatus::kStarted, "running").status, "Running");
  EXPECT_EQ(FelderaStateOf(InstanceStatus::kStarted, "paused").status, "Paused");
  EXPECT_EQ(FelderaStateOf(InstanceStatus::kStarting, "standby").desired, "Standby");
  EXPECT_EQ(FelderaStateOf(InstanceStatus::kStopping, "running").status, "Stopping");
  EXPECT_EQ(FelderaStateOf(InstanceStatus::kStopping, "running").desired, "Stopped");
  EXPECT_EQ(FelderaStateOf(InstanceStatus::kPending, "running").status, "Provisioning");
  auto body = FelderaIllegalAction("m", {"Stopping", "Stopped"}, "Running", "h");
  EXPECT_EQ(
      body,
      R"({"message":"m","error_code":"IllegalPipelineAction","details":{"status":"Stopping","current_desired_status":"Stopped","new_desired_status":"Running","hint":"h"}})");
}

TEST(Feldera, PauseAndResumeUnderWayShowTheirDesiredStatus) {
  // The worker records the new mode when it has finished: until then the pending action tells.
  auto pausing = FelderaStateOf(InstanceStatus::kStarted, "running", "pause");
  EXPECT_EQ(pausing.status, "Running");
  EXPECT_EQ(pausing.desired, "Paused");
  auto resuming = FelderaStateOf(InstanceStatus::kStarted, "paused", "resume");
  EXPECT_EQ(resuming.status, "Paused");
  EXPECT_EQ(resuming.desired, "Running");
  // A stop under way is a stop whatever the mode.
  EXPECT_EQ(FelderaStateOf(InstanceStatus::kStopping, "paused", "stop").desired, "Stopped");
  InstanceRecord r;
  r.id = "u";
  r.status = InstanceStatus::kStarted;
  r.mode = "running";
  r.pending_action = "pause";
  auto list = FelderaPipelineList({r});
  EXPECT_EQ(list.front(), '[');
  EXPECT_NE(list.find(R"("deployment_status":"Running","deployment_desired_status":"Paused")"),
            std::string::npos)
      << list;
  EXPECT_EQ(FelderaPipelineList({}), "[]");
}

TEST(Feldera, ConfigHasTheEditionTheClientAccepts) {
  auto body = FelderaConfigBody(kFelderaApiVersion);
  // The official client's FelderaConfig reads these; its edition must be one it knows.
  EXPECT_NE(body.find(R"("edition":"Open source")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("version":"0.337.0")"), std::string::npos) << body;
  for (const char* field : {"revision", "changelog_url", "license_validity", "update_info"})
    EXPECT_NE(body.find(std::string("\"") + field + "\":"), std::string::npos) << field;
}

TEST(Feldera, DismissFromIsWhereThePipelineIsFullyStopped) {
  auto from = domain::feldera::DismissFrom();
  for (int c = 0; c < domain::kStatusCount; ++c) {
    auto s = *domain::FromCode(c);
    auto st = FelderaStateOf(s, "running");
    bool stopped =
        st.status == "Stopped" && st.desired == "Stopped" && s != InstanceStatus::kDestroyed;
    EXPECT_EQ(std::count(from.begin(), from.end(), s) == 1, stopped) << c;
  }
}

}  // namespace
}  // namespace lambda::routes

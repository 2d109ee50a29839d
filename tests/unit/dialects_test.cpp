#include "routes/dialects.h"

#include <gtest/gtest.h>

#include "lambda/domain/dialect_rules.h"

namespace lambda::routes {
namespace {

using domain::Status;

TEST(Zenlayer, StatusNamesAsTheSpecMapsThem) {
  EXPECT_EQ(domain::zenlayer::StatusName(Status::kPending), "CREATING");
  EXPECT_EQ(domain::zenlayer::StatusName(Status::kHadoopInstalled), "CREATING");
  EXPECT_EQ(domain::zenlayer::StatusName(Status::kStarting), "BOOTING");
  EXPECT_EQ(domain::zenlayer::StatusName(Status::kStarted), "RUNNING");
  EXPECT_EQ(domain::zenlayer::StatusName(Status::kStopping), "STOPPING");
  EXPECT_EQ(domain::zenlayer::StatusName(Status::kStopped), "STOPPED");
  EXPECT_EQ(domain::zenlayer::StatusName(Status::kDestroying), "RELEASING");
  EXPECT_EQ(domain::zenlayer::StatusName(Status::kKafkaFailed), "CREATE_FAILED");
  EXPECT_EQ(domain::zenlayer::StatusName(Status::kFailed), "FAILED");
  EXPECT_EQ(ZenlayerError("R", "C", "M"), R"({"requestId":"R","code":"C","message":"M"})");
  EXPECT_EQ(ZenlayerOk("R"), R"({"requestId":"R","response":{"requestId":"R"}})");
  EXPECT_EQ(
      ZenlayerDescribeBody("R", 7, {{"a", Status::kStarted}}),
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
  r.status = Status::kStarted;
  EXPECT_EQ(LegacyStatusBody(r),
            R"({"data":{"status":"STARTED","id":14,"name":"Lambda Instance 2","uuid":"u"}})");
  EXPECT_EQ(LegacyListBody({{"u", "n", Status::kStarted, "", 3}}),
            R"({"data":[{"uuid":"u","name":"n","id":3}]})");
}

TEST(Feldera, StatesAndErrors) {
  EXPECT_EQ(FelderaStateOf(Status::kStarted, "running").status, "Running");
  EXPECT_EQ(FelderaStateOf(Status::kStarted, "paused").status, "Paused");
  EXPECT_EQ(FelderaStateOf(Status::kStarting, "standby").desired, "Standby");
  EXPECT_EQ(FelderaStateOf(Status::kStopping, "running").status, "Stopping");
  EXPECT_EQ(FelderaStateOf(Status::kStopping, "running").desired, "Stopped");
  EXPECT_EQ(FelderaStateOf(Status::kPending, "running").status, "Provisioning");
  auto body = FelderaIllegalAction("m", {"Stopping", "Stopped"}, "Running", "h");
  EXPECT_EQ(
      body,
      R"({"message":"m","error_code":"IllegalPipelineAction","details":{"status":"Stopping","current_desired_status":"Stopped","new_desired_status":"Running","hint":"h"}})");
}

}  // namespace
}  // namespace lambda::routes

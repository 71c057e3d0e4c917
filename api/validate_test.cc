#include "api/validate.h"

#include "api/json.h"
#include "gtest/gtest.h"

namespace blimp::api {
namespace {

using blimp::v1::VmConfig;

absl::Status ValidateConfigJson(const std::string& json) {
  VmConfig config;
  absl::Status status = ParseJson(json, &config);
  if (!status.ok()) return status;
  return ValidateVmConfig(config);
}

TEST(ValidateTest, VmIds) {
  for (const char* good : {"a", "vm-1", "web_02.prod", "A9"}) {
    EXPECT_TRUE(ValidateVmId(good).ok()) << good;
  }
  for (const char* bad : {"", ".", "..", "../etc", "a/b", "a b", ".hidden", "vm\n",
                          "x\\y", "é"}) {
    EXPECT_EQ(ValidateVmId(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(ValidateVmId(std::string(64, 'a')).ok());
  EXPECT_FALSE(ValidateVmId(std::string(65, 'a')).ok());
}

TEST(ValidateTest, RequiredBalloonFields) {
  blimp::v1::Balloon balloon;
  EXPECT_NE(ValidateBalloon(balloon).message().find("amount_mib"), std::string::npos);
  balloon.set_amount_mib(1);
  EXPECT_NE(ValidateBalloon(balloon).message().find("deflate_on_oom"), std::string::npos);
  balloon.set_deflate_on_oom(false);
  EXPECT_TRUE(ValidateBalloon(balloon).ok());
  EXPECT_FALSE(ValidateBalloonUpdate({}).ok());
  EXPECT_FALSE(ValidateBalloonStatsUpdate({}).ok());
}

TEST(ValidateTest, MachineConfigLimits) {
  EXPECT_TRUE(ValidateConfigJson(
      R"({"boot-source":{"kernel_image_path":"/k"},"machine-config":{"vcpu_count":1,"mem_size_mib":64}})").ok());
  EXPECT_NE(ValidateConfigJson(
      R"({"boot-source":{"kernel_image_path":"/k"},"machine-config":{"vcpu_count":0,"mem_size_mib":64}})")
                .message().find("vcpu_count"), std::string::npos);
  EXPECT_FALSE(ValidateConfigJson(
      R"({"boot-source":{"kernel_image_path":"/k"},"machine-config":{"vcpu_count":33,"mem_size_mib":64}})").ok());
  EXPECT_NE(ValidateConfigJson(
      R"({"boot-source":{"kernel_image_path":"/k"},"machine-config":{"vcpu_count":1,"mem_size_mib":0}})")
                .message().find("mem_size_mib"), std::string::npos);
  EXPECT_FALSE(ValidateConfigJson(
      R"({"boot-source":{"kernel_image_path":"/k"},"machine-config":{"vcpu_count":1}})").ok());
  EXPECT_FALSE(ValidateConfigJson(R"({"machine-config":{"vcpu_count":1,"mem_size_mib":64}})").ok());
  EXPECT_FALSE(ValidateConfigJson(
      R"({"boot-source":{"kernel_image_path":""},"machine-config":{"vcpu_count":1,"mem_size_mib":64}})").ok());
}

TEST(ValidateTest, BalloonMustFitTheMemory) {
  const std::string head =
      R"({"boot-source":{"kernel_image_path":"/k"},"machine-config":{"vcpu_count":1,"mem_size_mib":64},)";
  EXPECT_TRUE(ValidateConfigJson(head + R"("balloon":{"amount_mib":64,"deflate_on_oom":true}})").ok());
  absl::Status status =
      ValidateConfigJson(head + R"("balloon":{"amount_mib":65,"deflate_on_oom":true}})");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("too large"), std::string::npos) << status;
  EXPECT_FALSE(ValidateConfigJson(head + R"("balloon":{"amount_mib":1}})").ok());
}

}  // namespace
}  // namespace blimp::api

#include "api/validate.h"

#include "api/json.h"
#include "absl/strings/str_cat.h"
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

blimp::v1::BootSource Boot(const std::string& kernel, const std::string& initrd = "",
                           const std::string& args = "") {
  blimp::v1::BootSource boot;
  boot.set_kernel_image_path(kernel);
  boot.set_initrd_path(initrd);
  boot.set_boot_args(args);
  return boot;
}

void ExpectBadBoot(const blimp::v1::BootSource& boot, const char* field, const char* why) {
  absl::Status status = ValidateBootSource(boot);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << boot.DebugString();
  EXPECT_NE(status.message().find(field), std::string::npos) << status;
  EXPECT_NE(status.message().find(why), std::string::npos) << status;
}

TEST(ValidateTest, ImagePathsAreAbsoluteNulFreeAndBounded) {
  EXPECT_TRUE(ValidateBootSource(Boot("/k")).ok());
  EXPECT_TRUE(ValidateBootSource(Boot("/var/lib/blimp/vmlinux", "/var/lib/i.cpio")).ok());
  EXPECT_TRUE(ValidateBootSource(Boot("/" + std::string(kMaxPathLength - 1, 'k'))).ok());
  ExpectBadBoot(Boot("vmlinux"), "kernel_image_path", "absolute");
  ExpectBadBoot(Boot("./vmlinux"), "kernel_image_path", "absolute");
  ExpectBadBoot(Boot("/k", "initrd.cpio"), "initrd_path", "absolute");
  // A proto string (gRPC) holds the NUL that a C path would stop at.
  ExpectBadBoot(Boot(std::string("/tmp/evil\0/ignored", 18)), "kernel_image_path", "NUL");
  ExpectBadBoot(Boot("/k", std::string("/i\0x", 4)), "initrd_path", "NUL");
  ExpectBadBoot(Boot("/k\n"), "kernel_image_path", "control character");
  ExpectBadBoot(Boot("/k\x1b[2J"), "kernel_image_path", "control character");
  ExpectBadBoot(Boot("/k\x7f"), "kernel_image_path", "control character");
  ExpectBadBoot(Boot("/" + std::string(kMaxPathLength, 'k')), "kernel_image_path", "4095");
  // The message stays short for a long path.
  EXPECT_LT(ValidateBootSource(Boot(std::string(100000, 'k'))).message().size(), 400u);
}

TEST(ValidateTest, BootArgsAreNulFreeAndLeaveRoomForTheVmmsWords) {
  EXPECT_EQ(kMaxBootArgsLength, 1919u);
  EXPECT_TRUE(ValidateBootSource(Boot("/k", "", std::string(kMaxBootArgsLength, 'a'))).ok());
  ExpectBadBoot(Boot("/k", "", std::string(kMaxBootArgsLength + 1, 'a')), "boot_args", "1919");
  ExpectBadBoot(Boot("/k", "", std::string(2048, 'a')), "boot_args", "limit");
  ExpectBadBoot(Boot("/k", "", std::string("console=ttyS0\0init=/bin/sh", 26)), "boot_args",
                "NUL");
  // Tabs and newlines are whitespace to the kernel's parser: allowed.
  EXPECT_TRUE(ValidateBootSource(Boot("/k", "", "console=ttyS0\tquiet\n")).ok());
}

TEST(ValidateTest, PathRulesApplyToTheWholeConfigAndItsJson) {
  EXPECT_NE(ValidateConfigJson(
                R"({"boot-source":{"kernel_image_path":"/k\u0000x"},)"
                R"("machine-config":{"vcpu_count":1,"mem_size_mib":64}})")
                .message()
                .find("NUL"),
            std::string::npos);
  VmConfig config;
  config.mutable_boot_source()->set_kernel_image_path("relative/k");
  config.mutable_machine_config()->set_vcpu_count(1);
  config.mutable_machine_config()->set_mem_size_mib(64);
  EXPECT_EQ(ValidateVmConfig(config).code(), absl::StatusCode::kInvalidArgument);
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
  for (const char* mode : {"monitor", "limit", "none"}) {
    balloon.set_memory_enforcement(mode);
    EXPECT_TRUE(ValidateBalloon(balloon).ok()) << mode;
  }
  balloon.set_deflate_on_oom(true);
  balloon.set_memory_enforcement("limit");
  EXPECT_NE(ValidateBalloon(balloon).message().find("deflate_on_oom"), std::string::npos);
  balloon.set_memory_enforcement("monitor");
  EXPECT_TRUE(ValidateBalloon(balloon).ok());
  balloon.set_deflate_on_oom(false);
  for (const char* mode : {"Monitor", "limit ", "off", "0"}) {
    balloon.set_memory_enforcement(mode);
    EXPECT_NE(ValidateBalloon(balloon).message().find("memory_enforcement"), std::string::npos)
        << mode;
  }
  EXPECT_FALSE(ValidateBalloonUpdate({}).ok());
  EXPECT_FALSE(ValidateBalloonStatsUpdate({}).ok());
}

TEST(ValidateTest, MemoryEnforcementInTheConfigJson) {
  constexpr char kHead[] =
      R"({"boot-source":{"kernel_image_path":"/k"},"machine-config":{"vcpu_count":1,"mem_size_mib":64},)";
  EXPECT_TRUE(ValidateConfigJson(absl::StrCat(
      kHead, R"("balloon":{"amount_mib":0,"deflate_on_oom":false,"memory_enforcement":"limit"}})")).ok());
  for (const char* bad : {R"("bogus")", "1", "true", R"("")"}) {
    absl::Status status = ValidateConfigJson(absl::StrCat(
        kHead, R"("balloon":{"amount_mib":0,"deflate_on_oom":true,"memory_enforcement":)", bad, "}}"));
    EXPECT_NE(status.message().find("memory_enforcement"), std::string::npos) << bad << ": " << status;
  }
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

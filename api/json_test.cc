#include "api/json.h"

#include <fstream>
#include <sstream>

#include "api/validate.h"
#include "gtest/gtest.h"
#include "proto/blimp/v1/config.pb.h"
#include "proto/blimp/v1/vm_service.pb.h"

namespace blimp::api {
namespace {

using blimp::v1::Balloon;
using blimp::v1::BalloonStats;
using blimp::v1::BalloonStatsUpdate;
using blimp::v1::BalloonUpdate;
using blimp::v1::BootSource;
using blimp::v1::HintingStart;
using blimp::v1::HintingStatus;
using blimp::v1::InstanceAction;
using blimp::v1::MachineConfig;
using blimp::v1::VmConfig;

// Parses `json` into T and prints it back.
template <typename T>
std::string RoundTrip(const std::string& json) {
  T message;
  absl::Status status = ParseJson(json, &message);
  EXPECT_TRUE(status.ok()) << status;
  return ToJson(message);
}

TEST(JsonTest, BalloonUsesTheContractNames) {
  const std::string json =
      R"({"amount_mib":256,"deflate_on_oom":true,"stats_polling_interval_s":1,)"
      R"("free_page_reporting":true,"free_page_hinting":false})";
  EXPECT_EQ(RoundTrip<Balloon>(json), json);
  // Optional fields default to 0/false and are still printed, as Firecracker does.
  EXPECT_EQ(RoundTrip<Balloon>(R"({"amount_mib": 0, "deflate_on_oom": false})"),
            R"({"amount_mib":0,"deflate_on_oom":false,"stats_polling_interval_s":0,)"
            R"("free_page_reporting":false,"free_page_hinting":false})");
}

TEST(JsonTest, UpdatesAndHinting) {
  EXPECT_EQ(RoundTrip<BalloonUpdate>(R"({"amount_mib": 64})"), R"({"amount_mib":64})");
  EXPECT_EQ(RoundTrip<BalloonStatsUpdate>(R"({"stats_polling_interval_s": 5})"),
            R"({"stats_polling_interval_s":5})");
  EXPECT_EQ(RoundTrip<HintingStart>(R"({"acknowledge_on_stop": false})"),
            R"({"acknowledge_on_stop":false})");
  EXPECT_EQ(RoundTrip<HintingStart>("{}"), "{}");
  EXPECT_EQ(RoundTrip<HintingStatus>(R"({"host_cmd": 3, "guest_cmd": 2})"),
            R"({"host_cmd":3,"guest_cmd":2})");
  EXPECT_EQ(RoundTrip<InstanceAction>(R"({"action_type": "InstanceStart"})"),
            R"({"action_type":"InstanceStart"})");
}

TEST(JsonTest, StatsPrintOnlyReportedTagsAsNumbers) {
  BalloonStats stats;
  stats.set_target_pages(25600);
  stats.set_actual_pages(256);
  stats.set_target_mib(100);
  stats.set_actual_mib(1);
  stats.set_free_memory(0);  // Reported as zero: printed.
  stats.set_total_memory(536870912000ull);  // Past 32 bits: still a number.
  EXPECT_EQ(ToJson(stats),
            R"({"target_pages":25600,"actual_pages":256,"target_mib":100,)"
            R"("actual_mib":1,"free_memory":0,"total_memory":536870912000})");
}

TEST(JsonTest, AllSixteenStatFieldsHaveTheContractNames) {
  const char* names[] = {"swap_in", "swap_out", "major_faults", "minor_faults",
                         "free_memory", "total_memory", "available_memory",
                         "disk_caches", "hugetlb_allocations", "hugetlb_failures",
                         "oom_kill", "alloc_stall", "async_scan", "direct_scan",
                         "async_reclaim", "direct_reclaim"};
  std::string json = R"({"target_pages":0,"actual_pages":0,"target_mib":0,"actual_mib":0)";
  int value = 1;
  for (const char* name : names) json += ",\"" + std::string(name) + "\":" + std::to_string(value++);
  json += "}";
  EXPECT_EQ(RoundTrip<BalloonStats>(json), json);
}

TEST(JsonTest, BootSourceAndMachineConfig) {
  EXPECT_EQ(RoundTrip<BootSource>(
                R"({"kernel_image_path":"/k","initrd_path":"/i","boot_args":"console=ttyS0"})"),
            R"({"kernel_image_path":"/k","initrd_path":"/i","boot_args":"console=ttyS0"})");
  EXPECT_EQ(RoundTrip<MachineConfig>(R"({"vcpu_count":2,"mem_size_mib":512})"),
            R"({"vcpu_count":2,"mem_size_mib":512,"smt":false})");
}

TEST(JsonTest, ConfigFileUsesFirecrackerKeys) {
  const std::string json =
      R"({"boot-source":{"kernel_image_path":"/k","initrd_path":"","boot_args":""},)"
      R"("machine-config":{"vcpu_count":1,"mem_size_mib":64,"smt":false}})";
  EXPECT_EQ(RoundTrip<VmConfig>(json), json);
}

TEST(JsonTest, SeedConfigFileParsesAndValidates) {
  std::ifstream file("api/testdata/seed_config.json");
  ASSERT_TRUE(file) << "missing testdata";
  std::stringstream text;
  text << file.rdbuf();
  VmConfig config;
  ASSERT_TRUE(ParseJson(text.str(), &config).ok());
  EXPECT_TRUE(ValidateVmConfig(config).ok());
  EXPECT_EQ(config.machine_config().mem_size_mib(), 512u);
  EXPECT_EQ(config.balloon().stats_polling_interval_s(), 1u);
  EXPECT_TRUE(config.balloon().has_deflate_on_oom());
}

TEST(JsonTest, UnknownFieldsAreRejectedByName) {
  Balloon balloon;
  absl::Status status = ParseJson(R"({"amount_mib":1,"deflate_on_oom":true,"amount":2})", &balloon);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("amount"), std::string::npos) << status;
  EXPECT_NE(status.message().find("Balloon"), std::string::npos) << status;
  EXPECT_FALSE(balloon.has_amount_mib());  // Nothing half-parsed.
}

TEST(JsonTest, SeedPatchWithIntervalIsRejectedForBalloonUpdate) {
  // The seed shows this body for PATCH /balloon; the contract rejects it.
  BalloonUpdate update;
  absl::Status status = ParseJson(
      R"({"amount_mib": 64, "stats_polling_interval_s": 2})", &update);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("stats_polling_interval_s"), std::string::npos) << status;
}

TEST(JsonTest, MalformedJsonAndWrongTypesAreRejected) {
  Balloon balloon;
  for (const char* bad : {"", "{", "[]", "null", R"({"amount_mib": -1})",
                          R"({"amount_mib": "x"})", R"({"amount_mib": 1.5})",
                          R"({"amount_mib": 4294967296})", R"({"deflate_on_oom": 1})",
                          R"({"amount_mib": 1} trailing)"}) {
    EXPECT_EQ(ParseJson(bad, &balloon).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

// Each input here is accepted by protobuf's own JSON parser (quoted integers,
// exponents, duplicated keys, ...); the contract refuses them, naming the
// object and the field.
struct Refused {
  const char* json;
  const char* names;  // Must appear in the message.
};

template <typename T>
void ExpectRefused(const Refused& bad) {
  T message;
  absl::Status status = ParseJson(bad.json, &message);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad.json;
  EXPECT_NE(status.message().find(bad.names), std::string::npos)
      << bad.json << " -> " << status;
  EXPECT_EQ(message.ByteSizeLong(), 0u) << bad.json;  // Nothing half-parsed.
}

TEST(JsonTest, NumbersInQuotesAreRefused) {
  ExpectRefused<MachineConfig>({R"({"vcpu_count": "1", "mem_size_mib": 64})", "vcpu_count"});
  ExpectRefused<BalloonUpdate>({R"({"amount_mib": "64"})", "amount_mib"});
  ExpectRefused<BalloonStats>({R"({"total_memory": "5"})", "total_memory"});
}

TEST(JsonTest, IntegersWithExponentFractionOrMinusZeroAreRefused) {
  for (const char* bad : {R"({"amount_mib": 1e2})", R"({"amount_mib": 64.0})",
                          R"({"amount_mib": -0})", R"({"amount_mib": 1E2})",
                          R"({"amount_mib": 0.0})"}) {
    ExpectRefused<BalloonUpdate>({bad, "amount_mib"});
  }
}

TEST(JsonTest, DuplicatedKeysAreRefusedByName) {
  ExpectRefused<VmConfig>(
      {R"({"machine-config":{"vcpu_count":1,"mem_size_mib":64},)"
       R"("machine-config":{"vcpu_count":2,"mem_size_mib":64}})",
       "machine-config"});
  ExpectRefused<VmConfig>(
      {R"({"machine-config":{"vcpu_count":1,"mem_size_mib":64,"vcpu_count":2}})",
       "vcpu_count"});
  ExpectRefused<Balloon>(
      {R"({"amount_mib":1,"deflate_on_oom":true,"amount_mib":2})", "amount_mib"});
}

TEST(JsonTest, BooleansMustBeTrueOrFalse) {
  for (const char* bad : {R"({"deflate_on_oom": "true"})", R"({"deflate_on_oom": "yes"})",
                          R"({"deflate_on_oom": null})"}) {
    ExpectRefused<Balloon>({bad, "deflate_on_oom"});
  }
}

TEST(JsonTest, HugeNumbersAndDeepNestingGiveAClearError) {
  ExpectRefused<BalloonStats>({R"({"swap_in": 18446744073709551616})", "swap_in"});
  ExpectRefused<BalloonStats>({R"({"swap_in": 1000000000000000000000000000000})", "swap_in"});
  ExpectRefused<BalloonUpdate>({R"({"amount_mib": 4294967296})", "amount_mib"});
  std::string deep = R"({"boot-source":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  ExpectRefused<VmConfig>({deep.c_str(), "boot-source"});
}

TEST(JsonTest, OnlyTheContractNamesAreAccepted) {
  // protobuf also takes the lowerCamel and the original proto names.
  ExpectRefused<BalloonUpdate>({R"({"amountMib": 64})", "amountMib"});
  ExpectRefused<VmConfig>({R"({"boot_source": {"kernel_image_path": "/k"}})", "boot_source"});
}

TEST(JsonTest, RawControlCharactersInStringsAreRefused) {
  ExpectRefused<BootSource>({"{\"kernel_image_path\": \"/k\x01\"}", "kernel_image_path"});
  // Escaped, they parse (the path rules in validate.h then refuse them).
  BootSource boot;
  ASSERT_TRUE(ParseJson(R"({"kernel_image_path": "/k\u0000x"})", &boot).ok());
  EXPECT_EQ(boot.kernel_image_path(), std::string("/k\0x", 4));
}

TEST(JsonTest, StringsAreEscaped) {
  BootSource boot;
  boot.set_kernel_image_path("a\"b\\c\n\x01");
  EXPECT_EQ(ToJson(boot),
            R"({"kernel_image_path":"a\"b\\c\n\u0001","initrd_path":"","boot_args":""})");
  BootSource back;
  ASSERT_TRUE(ParseJson(ToJson(boot), &back).ok());
  EXPECT_EQ(back.kernel_image_path(), boot.kernel_image_path());
}

}  // namespace
}  // namespace blimp::api

#include "vmm/config_file.h"

#include <fstream>

#include "gtest/gtest.h"

namespace blimp::vmm {
namespace {

TEST(ConfigFileTest, ParsesAFullConfig) {
  auto config = ParseConfigJson(R"({
    "boot-source": {"kernel_image_path": "/k", "initrd_path": "/i", "boot_args": "console=ttyS0"},
    "machine-config": {"vcpu_count": 2, "mem_size_mib": 512},
    "balloon": {"amount_mib": 64, "deflate_on_oom": true, "stats_polling_interval_s": 1,
                "free_page_reporting": true}})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->boot_source.kernel_image_path, "/k");
  EXPECT_EQ(config->boot_source.initrd_path, "/i");
  EXPECT_EQ(config->machine.vcpu_count, 2u);
  EXPECT_EQ(config->machine.mem_size_mib, 512u);
  ASSERT_TRUE(config->balloon.has_value());
  EXPECT_EQ(config->balloon->amount_mib, 64u);
  EXPECT_TRUE(config->balloon->deflate_on_oom);
  EXPECT_TRUE(config->balloon->free_page_reporting);
  EXPECT_FALSE(config->balloon->free_page_hinting);
  // And back.
  auto again = FromProto(ToProto(*config));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->balloon->stats_polling_interval_s, 1u);
}

TEST(ConfigFileTest, BadConfigsSayWhatIsWrong) {
  struct Case {
    const char* json;
    const char* expect;
  } cases[] = {
      {R"({"machine-config": {"vcpu_count": 1, "mem_size_mib": 64}})", "boot-source"},
      {R"({"boot-source": {"kernel_image_path": "/k"},
           "machine-config": {"vcpu_count": 0, "mem_size_mib": 64}})", "vcpu_count"},
      {R"({"boot-source": {"kernel_image_path": "/k"},
           "machine-config": {"vcpu_count": 1, "mem_size_mib": 0}})", "mem_size_mib"},
      {R"({"boot-source": {"kernel_image_path": "/k"}, "cpus": 3,
           "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}})", "cpus"},
      {"not json", "JSON"},
  };
  for (const Case& c : cases) {
    auto config = ParseConfigJson(c.json);
    ASSERT_FALSE(config.ok()) << c.json;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(config.status().message().find(c.expect), std::string::npos) << config.status();
  }
}

TEST(ConfigFileTest, LoadNamesTheFile) {
  EXPECT_EQ(LoadConfigFile("/nonexistent/vm.json").status().code(), absl::StatusCode::kNotFound);
  std::string path = ::testing::TempDir() + "/bad.json";
  std::ofstream(path) << "{";
  auto config = LoadConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find(path), std::string::npos);
}

TEST(ConfigFileTest, HostChecks) {
  VmConfig config;
  config.boot_source.kernel_image_path = "/nonexistent/kernel";
  absl::Status status = CheckHostResources(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("/nonexistent/kernel"), std::string::npos);
  config.boot_source.kernel_image_path = "/proc/self/exe";
  EXPECT_TRUE(CheckHostResources(config).ok());
  config.machine.mem_size_mib = 1024 * 1024;  // 1 TiB: more than this host.
  EXPECT_NE(CheckHostResources(config).message().find("more than this host"),
            std::string::npos);
}

}  // namespace
}  // namespace blimp::vmm

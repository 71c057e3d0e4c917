// blimp-vmm boots the Blimp test guest on real KVM: console, memory, vCPUs,
// power-off and SIGTERM; and refuses bad configurations before starting.
#include <signal.h>

#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

// "mem: total_pages=T free_pages=F used_pages=U" -> value of `key`.
uint64_t MemField(const std::string& line, const std::string& key) {
  for (absl::string_view part : absl::StrSplit(line, ' ')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, '=');
    uint64_t value;
    if (kv.first == key && absl::SimpleAtoi(kv.second, &value)) return value;
  }
  ADD_FAILURE() << "no " << key << " in '" << line << "'";
  return 0;
}

struct Shape {
  int vcpus;
  int mem_mib;
};

class VmmBootTest : public ::testing::TestWithParam<Shape> {};

TEST_P(VmmBootTest, BootsRunsCommandsAndPowersOff) {
  SKIP_WITHOUT_KVM();
  const Shape shape = GetParam();
  auto vm = VmProcess::Start(TestGuestConfig(shape.vcpus, shape.mem_mib));
  ASSERT_TRUE(vm.ok()) << vm.status();
  ASSERT_TRUE((*vm)->WaitForLine("BLIMP-GUEST-READY", absl::Seconds(30)).ok())
      << (*vm)->output();

  auto cpus = (*vm)->Command("cpus");
  ASSERT_TRUE(cpus.ok()) << cpus.status();
  EXPECT_NE(cpus->front().find(absl::StrCat(shape.vcpus)), std::string::npos)
      << cpus->front();

  auto mem = (*vm)->Command("mem");
  ASSERT_TRUE(mem.ok()) << mem.status();
  uint64_t total = MemField(mem->front(), "total_pages");
  uint64_t configured = uint64_t(shape.mem_mib) * 256;
  // The guest manages its RAM minus low memory, its image and page tables.
  EXPECT_LE(total, configured);
  EXPECT_GE(total, configured - 4 * 256);
  EXPECT_EQ(MemField(mem->front(), "used_pages"), 0u);

  auto before = (*vm)->RssBytes();
  ASSERT_TRUE(before.ok());
  auto touch = (*vm)->Command("touch 40");
  ASSERT_TRUE(touch.ok()) << touch.status();
  EXPECT_EQ(touch->back(), "ok");
  auto after = (*vm)->RssBytes();
  ASSERT_TRUE(after.ok());
  EXPECT_GE(*after, *before + 36 * (1 << 20)) << "RSS " << *before << " -> " << *after;
  mem = (*vm)->Command("mem");
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ(MemField(mem->front(), "used_pages"), 40u * 256);

  ASSERT_TRUE((*vm)->SendLine("poweroff").ok());
  EXPECT_EQ((*vm)->WaitExit(absl::Seconds(10)), 0) << (*vm)->output();
}

INSTANTIATE_TEST_SUITE_P(Shapes, VmmBootTest,
                         ::testing::Values(Shape{1, 64}, Shape{2, 64}, Shape{1, 512},
                                           Shape{2, 512}),
                         [](const auto& info) {
                           return absl::StrCat(info.param.vcpus, "vcpu_", info.param.mem_mib,
                                               "mib");
                         });

TEST(VmmBootTest, Touch100RaisesRssByAbout100MiB) {
  SKIP_WITHOUT_KVM();
  auto vm = VmProcess::Start(TestGuestConfig(1, 512));
  ASSERT_TRUE(vm.ok()) << vm.status();
  ASSERT_TRUE((*vm)->WaitForLine("BLIMP-GUEST-READY", absl::Seconds(30)).ok());
  uint64_t before = *(*vm)->RssBytes();
  ASSERT_TRUE((*vm)->Command("touch 100").ok());
  uint64_t grown = *(*vm)->RssBytes() - before;
  EXPECT_GE(grown, 95ull << 20);
  EXPECT_LE(grown, 110ull << 20);
}

TEST(VmmBootTest, SigtermStopsCleanly) {
  SKIP_WITHOUT_KVM();
  auto vm = VmProcess::Start(TestGuestConfig(2, 64));
  ASSERT_TRUE(vm.ok()) << vm.status();
  ASSERT_TRUE((*vm)->WaitForLine("BLIMP-GUEST-READY", absl::Seconds(30)).ok());
  (*vm)->Signal(SIGTERM);
  EXPECT_EQ((*vm)->WaitExit(absl::Seconds(10)), 0);
}

TEST(VmmBootTest, RebootEndsTheVmm) {
  SKIP_WITHOUT_KVM();
  auto vm = VmProcess::Start(TestGuestConfig(1, 64));
  ASSERT_TRUE(vm.ok()) << vm.status();
  ASSERT_TRUE((*vm)->WaitForLine("BLIMP-GUEST-READY", absl::Seconds(30)).ok());
  ASSERT_TRUE((*vm)->SendLine("reboot").ok());
  EXPECT_EQ((*vm)->WaitExit(absl::Seconds(10)), 0);
}

std::string TinyGuestConfig(const std::string& kernel) {
  std::string path = absl::StrCat(std::getenv("TEST_SRCDIR"), "/", std::getenv("TEST_WORKSPACE"),
                                  "/tests/e2e/", kernel, ".elf");
  return absl::StrCat(R"({"boot-source": {"kernel_image_path": ")", path,
                      R"("}, "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}})");
}

// A guest instruction that neither KVM here nor blimp-vmm can run ends the
// VM with a report naming the instruction, its address and bytes.
TEST(VmmInternalErrorTest, IsReportedWithRipBytesAndMnemonic) {
  SKIP_WITHOUT_KVM();
  auto vm = VmProcess::Start(TinyGuestConfig("xrstor_guest"));
  ASSERT_TRUE(vm.ok()) << vm.status();
  std::optional<int> status = (*vm)->WaitExit(absl::Seconds(20));
  std::string log = (*vm)->Stderr();
  if (status == 0) GTEST_SKIP() << "SKIPPED: this host's KVM ran xrstor; nothing to report";
  EXPECT_EQ(status, 3) << log;
  EXPECT_NE(log.find("RIP 0x100004"), std::string::npos) << log;
  EXPECT_NE(log.find("0f ae 2e"), std::string::npos) << log;
  EXPECT_NE(log.find("xrstor"), std::string::npos) << log;
}

// `lock cmpxchg16b` in ring 0 fails in KVM's emulator here; blimp-vmm
// emulates it, and the guest checks both outcomes of the instruction.
TEST(VmmInternalErrorTest, Cmpxchg16bIsEmulated) {
  SKIP_WITHOUT_KVM();
  auto vm = VmProcess::Start(TinyGuestConfig("cmpxchg16b_guest"));
  ASSERT_TRUE(vm.ok()) << vm.status();
  EXPECT_EQ((*vm)->WaitExit(absl::Seconds(20)), 0) << (*vm)->Stderr();
  EXPECT_EQ((*vm)->output(), "Y\n") << (*vm)->Stderr();
}

struct BadConfig {
  std::string name;
  std::string json;
  std::string message;
};

class VmmBadConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(VmmBadConfigTest, ExitsWithAClearMessage) {
  // Refused before anything starts: needs no KVM.
  std::string text_file = TempDir() + "/not_a_kernel.txt";
  std::ofstream(text_file) << "this is not a kernel\n";
  std::string json = absl::StrReplaceAll(GetParam().json, {{"@TEXT@", text_file}});
  auto vm = VmProcess::Start(json);
  ASSERT_TRUE(vm.ok());
  EXPECT_EQ((*vm)->WaitExit(absl::Seconds(20)), 1);
  EXPECT_NE((*vm)->Stderr().find(GetParam().message), std::string::npos) << (*vm)->Stderr();
}

std::string KernelConfig(const std::string& kernel, int vcpus, int mem) {
  return absl::StrCat(R"({"boot-source": {"kernel_image_path": ")", kernel,
                      R"("}, "machine-config": {"vcpu_count": )", vcpus,
                      R"(, "mem_size_mib": )", mem, "}}");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, VmmBadConfigTest,
    ::testing::Values(
        BadConfig{"missing_kernel", KernelConfig("/nonexistent/vmlinux", 1, 64), "cannot read"},
        BadConfig{"not_a_kernel", KernelConfig("@TEXT@", 1, 64), "not_a_kernel.txt"},
        BadConfig{"zero_vcpus", KernelConfig("@TEXT@", 0, 64), "vcpu_count"},
        BadConfig{"zero_memory", KernelConfig("@TEXT@", 1, 0), "mem_size_mib"},
        BadConfig{"more_memory_than_host", KernelConfig("@TEXT@", 1, 1000000),
                  "more than this host"},
        BadConfig{"not_json", "{", "JSON"}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace blimp::tests

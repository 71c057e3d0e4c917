// Linux with 2 vCPUs (default suite, tag "kvm"): 128 MiB, no balloon, booted
// once and shared by the tests below. On this host blimp-vmm boots such a
// guest with `nopv` and a TSC clock (arch/x86_64/boot.cc): Linux's KVM PV IPIs
// are hypercalls the host's emulator never completes.
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/linux/shared_linux_vm.h"

namespace blimp::tests {
namespace {

struct SmpGuest {
  static constexpr int vcpus = 2;
  static constexpr int mem_mib = 128;
  static constexpr char balloon_json[] = "";
};

using LinuxSmpTest = SharedLinuxVmTest<SmpGuest>;

TEST_F(LinuxSmpTest, BothCpusCameUpAndTheLogIsClean) {
  auto online = vm().Guest("cat /sys/devices/system/cpu/online");
  ASSERT_TRUE(online.ok()) << online.status();
  EXPECT_EQ(absl::StrJoin(*online, "\n"), "0-1");
  auto brought_up = vm().Guest("dmesg-count Brought up 1 node, 2 CPUs");
  ASSERT_TRUE(brought_up.ok()) << brought_up.status();
  EXPECT_EQ(absl::StrJoin(*brought_up, ""), "1");
  auto clean = vm().Guest("dmesg-check");
  EXPECT_TRUE(clean.ok()) << clean.status();
}

// The second CPU keeps working after boot: its local APIC timer ticks.
TEST_F(LinuxSmpTest, BothCpusTakeTimerInterrupts) {
  auto interrupts = vm().Guest("cat /proc/interrupts");
  ASSERT_TRUE(interrupts.ok()) << interrupts.status();
  std::vector<uint64_t> ticks;
  for (const std::string& line : *interrupts) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (words.empty() || words[0] != "LOC:") continue;
    for (size_t i = 1; i < words.size(); ++i) {
      uint64_t n = 0;
      if (!absl::SimpleAtoi(words[i], &n)) break;
      ticks.push_back(n);
    }
  }
  ASSERT_EQ(ticks.size(), 2u) << absl::StrJoin(*interrupts, "\n");
  EXPECT_GT(ticks[0], 0u);
  EXPECT_GT(ticks[1], 0u);
}

}  // namespace
}  // namespace blimp::tests

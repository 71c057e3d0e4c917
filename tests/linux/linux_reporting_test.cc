// Linux's virtio_balloon, second guest (default suite, tag "kvm"): 2 vCPUs,
// 192 MiB, free page reporting, deflate_on_oom off, booted once and shared
// by the tests below in the order written.
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/linux/shared_linux_vm.h"

namespace blimp::tests {
namespace {

struct ReportingGuest {
  static constexpr int vcpus = 2;  // The suite's SMP Linux, too.
  static constexpr int mem_mib = 192;
  static constexpr char balloon_json[] =
      R"({"amount_mib": 0, "deflate_on_oom": false,)"
      R"( "stats_polling_interval_s": 1, "free_page_reporting": true})";
};

using LinuxReportingTest = SharedLinuxVmTest<ReportingGuest>;

// First, before the OOM test adds its report (a call trace) to the log.
TEST_F(LinuxReportingTest, KernelLogIsClean) {
  auto clean = vm().Guest("dmesg-check");
  EXPECT_TRUE(clean.ok()) << clean.status();
}

// Linux with 2 vCPUs on this host: blimp-vmm boots it with `nopv` and a TSC
// clock (arch/x86_64/boot.cc), since Linux's KVM PV IPIs are hypercalls the
// host's emulator never completes.
TEST_F(LinuxReportingTest, BothCpusCameUp) {
  auto online = vm().Guest("cat /sys/devices/system/cpu/online");
  ASSERT_TRUE(online.ok()) << online.status();
  EXPECT_EQ(absl::StrJoin(*online, "\n"), "0-1");
  auto brought_up = vm().Guest("dmesg-count Brought up 1 node, 2 CPUs");
  ASSERT_TRUE(brought_up.ok()) << brought_up.status();
  EXPECT_EQ(absl::StrJoin(*brought_up, ""), "1");
}

// The second CPU keeps working after boot: its local APIC timer ticks.
TEST_F(LinuxReportingTest, BothCpusTakeTimerInterrupts) {
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

TEST_F(LinuxReportingTest, FreedMemoryReturnsWithoutATargetChange) {
  const uint64_t rss_idle = vm().GuestRss();
  ASSERT_TRUE(vm().Guest("hog 64").ok());
  const uint64_t rss_touched = vm().GuestRss();
  ASSERT_GE(rss_touched, rss_idle + 60 * kMiB);
  const absl::Time freed = absl::Now();
  ASSERT_TRUE(vm().Guest("unhog").ok());
  // Linux reports free 2 MiB blocks about 2 s after they are freed.
  const absl::Time deadline = freed + absl::Seconds(30);
  while (vm().GuestRss() > rss_touched - 56 * kMiB && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  std::cout << "reported back " << (rss_touched - vm().GuestRss()) / kMiB << " MiB in "
            << absl::FormatDuration(absl::Now() - freed) << std::endl;
  EXPECT_LE(vm().GuestRss(), rss_touched - 56 * kMiB);
  EXPECT_EQ(vm().Stats().target_mib(), 0u);
  EXPECT_GT(vm().Metrics().free_page_report_freed(), 56 * kMiB);
}

TEST_F(LinuxReportingTest, BalloonHoldsWithoutDeflateOnOomAndTheOomKillerActs) {
  // Leave ~16 MiB available outside the balloon, then ask for 40 MiB.
  auto available = vm().Mem();
  ASSERT_TRUE(available.ok());
  const uint32_t target = static_cast<uint32_t>(available->available_kib / 1024) - 16;
  ASSERT_TRUE(vm().SetTarget(target).ok());
  ASSERT_TRUE(vm().WaitForActual(target));
  auto hog = vm().Guest("memhog 40");
  EXPECT_FALSE(hog.ok()) << "memhog should have been killed";
  EXPECT_EQ(vm().Stats().actual_mib(), target) << "the balloon must hold";
  auto killed = vm().Guest("dmesg-count Out of memory: Killed process");
  ASSERT_TRUE(killed.ok()) << killed.status();
  EXPECT_NE(absl::StrJoin(*killed, ""), "0") << "no OOM kill in the kernel log";
  // The VM stays up and answers.
  auto mem = vm().Mem();
  EXPECT_TRUE(mem.ok()) << mem.status();
  ASSERT_TRUE(vm().SetTarget(0).ok());
  ASSERT_TRUE(vm().WaitForActual(0));
  EXPECT_TRUE(vm().Guest("hog 40").ok());
  ASSERT_TRUE(vm().Guest("unhog").ok());
}

}  // namespace
}  // namespace blimp::tests

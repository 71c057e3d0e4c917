// Linux's own virtio_balloon driver against Blimp's device (default suite,
// tag "kvm"). One Linux guest (1 vCPU, 192 MiB, deflate_on_oom, statistics
// every second, free page hinting) is booted once and shared by the tests
// below, which run in the order written; each leaves the balloon at 0.
// Sizes are small: guest kernel work is emulated on this host (kvm-here.md);
// memhog touches ~5 MiB/s even with huge pages, Linux balloons ~4 MiB/s.
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/linux/shared_linux_vm.h"

namespace blimp::tests {
namespace {

struct BalloonGuest {
  static constexpr int vcpus = 1;
  static constexpr int mem_mib = 192;
  static constexpr char balloon_json[] =
      R"({"amount_mib": 0, "deflate_on_oom": true,)"
      R"( "stats_polling_interval_s": 1, "free_page_hinting": true})";
};

class LinuxBalloonTest : public SharedLinuxVmTest<BalloonGuest> {
 protected:
  // Stats taken after the statistics timer fired at least once more.
  blimp::v1::BalloonStats FreshStats() {
    const uint64_t seen = vm().Metrics().stats_updates_count();
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (vm().Metrics().stats_updates_count() < seen + 2 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(100));
    }
    return vm().Stats();
  }
};

TEST_F(LinuxBalloonTest, BalloonFoundOnceThroughAcpiWithACleanLog) {
  auto devices = vm().Guest("ls /sys/bus/virtio/devices");
  ASSERT_TRUE(devices.ok()) << devices.status();
  EXPECT_EQ(devices->size(), 1u) << absl::StrJoin(*devices, "\n");
  auto hid = vm().Guest("cat /sys/bus/virtio/devices/virtio0/../firmware_node/hid");
  ASSERT_TRUE(hid.ok()) << hid.status();
  EXPECT_EQ(absl::StrJoin(*hid, ""), "LNRO0005");
  auto clean = vm().Guest("dmesg-check");
  EXPECT_TRUE(clean.ok()) << clean.status();
  EXPECT_EQ(vm().process().output().find("virtio_mmio.device="), std::string::npos)
      << "with ACPI on, the device must not also be on the command line";
}

// Linux adds its first statistics buffer before DRIVER_OK; before the fix
// at DRIVER_OK none of these ever arrived.
TEST_F(LinuxBalloonTest, StatisticsFromLinux) {
  blimp::v1::BalloonStats stats = FreshStats();
  EXPECT_TRUE(stats.has_swap_in());
  EXPECT_TRUE(stats.has_swap_out());
  EXPECT_TRUE(stats.has_major_faults());
  EXPECT_TRUE(stats.has_minor_faults());
  EXPECT_TRUE(stats.has_free_memory());
  EXPECT_TRUE(stats.has_total_memory());
  EXPECT_TRUE(stats.has_available_memory());
  EXPECT_TRUE(stats.has_disk_caches());
  EXPECT_GT(stats.total_memory(), 150 * kMiB);
  EXPECT_LE(stats.total_memory(), 192 * kMiB);
  EXPECT_EQ(vm().Metrics().stats_update_fails(), 0u);

  // memhog's page faults show up as minor faults (one per 2 MiB at least:
  // the guest maps huge pages).
  const uint64_t faults = stats.minor_faults();
  ASSERT_TRUE(vm().Guest("hog 8").ok());
  ASSERT_TRUE(vm().Guest("unhog").ok());
  EXPECT_GE(FreshStats().minor_faults(), faults + 4);

  // A new interval refreshes at once, whatever the old one was.
  auto set_interval = [&](uint32_t seconds) { return vm().balloon().SetStatsInterval(seconds); };
  ASSERT_TRUE(set_interval(60).ok());
  absl::SleepFor(absl::Seconds(2));
  const uint64_t updates = vm().Metrics().stats_updates_count();
  const absl::Time patched = absl::Now();
  ASSERT_TRUE(set_interval(30).ok());
  while (vm().Metrics().stats_updates_count() == updates &&
         absl::Now() - patched < absl::Seconds(10)) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_GT(vm().Metrics().stats_updates_count(), updates);
  EXPECT_LT(absl::Now() - patched, absl::Seconds(3)) << "refreshed only by a timer";
  ASSERT_TRUE(set_interval(1).ok());
}

TEST_F(LinuxBalloonTest, InflateReturnsTouchedMemoryAndDeflateGivesItBack) {
  // memhog backs 96 MiB of guest RAM, then frees it: free in the guest,
  // still resident on the host.
  ASSERT_TRUE(vm().Guest("hog 96").ok());
  ASSERT_TRUE(vm().Guest("unhog").ok());
  auto before = vm().Mem();
  ASSERT_TRUE(before.ok()) << before.status();
  const uint64_t rss_before = vm().GuestRss();
  const uint64_t free_stat_before = FreshStats().free_memory();

  constexpr uint32_t kInflateMib = 64;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(vm().SetTarget(kInflateMib).ok());
  ASSERT_TRUE(vm().WaitForActual(kInflateMib)) << "actual " << vm().Stats().actual_mib();
  std::cout << "Linux inflated " << kInflateMib << " MiB in "
            << absl::FormatDuration(absl::Now() - start) << std::endl;
  const uint64_t rss_after = vm().GuestRss();
  auto after = vm().Mem();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_GE(rss_before - std::min(rss_before, rss_after), kInflateMib * kMiB * 9 / 10)
      << "RSS " << rss_before / kMiB << " -> " << rss_after / kMiB << " MiB";
  EXPECT_GE(before->free_kib - std::min(before->free_kib, after->free_kib),
            kInflateMib * 1024 * 85 / 100)
      << "MemFree " << before->free_kib << " -> " << after->free_kib << " KiB";
  const uint64_t free_stat_inflated = FreshStats().free_memory();
  EXPECT_LT(free_stat_inflated, free_stat_before - kInflateMib * kMiB * 8 / 10);

  ASSERT_TRUE(vm().SetTarget(0).ok());
  ASSERT_TRUE(vm().WaitForActual(0));
  EXPECT_GT(FreshStats().free_memory(), free_stat_inflated + kInflateMib * kMiB * 8 / 10);
  // The deflated pages are usable again.
  EXPECT_TRUE(vm().Guest("hog 96").ok());
  ASSERT_TRUE(vm().Guest("unhog").ok());
}

TEST_F(LinuxBalloonTest, FreePageHintingRunWithLinux) {
  auto before = vm().Mem();
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(vm().balloon().StartHinting(/*acknowledge_on_stop=*/true).ok());
  auto status = [&] { return vm().balloon().Hinting(); };
  // Linux answers with the run's id, hints its free pages, then STOP; the
  // device acknowledges with DONE and Linux frees the pages it held.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (vm().Metrics().free_page_hint_count() == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_GT(vm().Metrics().free_page_hint_count(), 0u);
  absl::SleepFor(absl::Seconds(2));
  ASSERT_TRUE(vm().balloon().StopHinting().ok());
  EXPECT_EQ(status().host_cmd(), 1u) << "DONE after stop";
  // The guest has its memory back and keeps working.
  absl::SleepFor(absl::Seconds(1));
  auto after = vm().Mem();
  ASSERT_TRUE(after.ok());
  EXPECT_GE(after->free_kib, before->free_kib * 9 / 10);
  EXPECT_TRUE(vm().Guest("hog 32").ok());
  ASSERT_TRUE(vm().Guest("unhog").ok());
}

TEST_F(LinuxBalloonTest, DeflateOnOomLetsMemhogComplete) {
  // Leave ~16 MiB available outside the balloon, then ask for 40 MiB:
  // Linux's OOM notifier deflates the balloon until memhog fits.
  auto mem = vm().Mem();
  ASSERT_TRUE(mem.ok());
  const uint32_t target = static_cast<uint32_t>(mem->available_kib / 1024) - 16;
  ASSERT_TRUE(vm().SetTarget(target).ok());
  ASSERT_TRUE(vm().WaitForActual(target));
  auto hog = vm().Guest("memhog 40");
  EXPECT_TRUE(hog.ok()) << hog.status();
  EXPECT_LT(vm().Stats().actual_mib(), target);
  ASSERT_TRUE(vm().SetTarget(0).ok());
  ASSERT_TRUE(vm().WaitForActual(0));
}

// Firecracker's device-reset test: unbinding the driver deflates the balloon
// to 0 and resets the device; binding it again reaches the target again.
TEST_F(LinuxBalloonTest, DriverUnbindDeflatesAndRebindReachesTheTarget) {
  auto before = vm().Mem();
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(vm().SetTarget(48).ok());
  ASSERT_TRUE(vm().WaitForActual(48));
  ASSERT_TRUE(vm().Guest("unbind").ok());
  EXPECT_TRUE(vm().WaitForActual(0, absl::Seconds(20)));
  auto mem = vm().Mem();
  ASSERT_TRUE(mem.ok());
  EXPECT_GT(mem->free_kib, before->free_kib - 8 * 1024) << "the balloon's pages went back to Linux";
  ASSERT_TRUE(vm().Guest("bind").ok());
  EXPECT_TRUE(vm().WaitForActual(48));
  ASSERT_TRUE(vm().SetTarget(0).ok());
  ASSERT_TRUE(vm().WaitForActual(0));
  auto clean = vm().Guest("dmesg-check");
  EXPECT_TRUE(clean.ok()) << clean.status();
}

}  // namespace
}  // namespace blimp::tests

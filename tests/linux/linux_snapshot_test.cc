// Linux's virtio_balloon across a snapshot (default suite, tag "kvm"): an SMP
// Linux guest with a balloon and a file of a known pattern is paused,
// snapshotted and restored into a fresh blimp-vmm, then checked: the file,
// a clean kernel log, both CPUs, and a balloon that still inflates, deflates
// and reports statistics.
#include <signal.h>
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/linux/linux_vm.h"

namespace blimp::tests {
namespace {

constexpr int kMemMib = 192;
constexpr char kBalloon[] =
    R"({"amount_mib": 0, "deflate_on_oom": false, "stats_polling_interval_s": 1})";

uint64_t AllocatedBytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

TEST(LinuxSnapshotTest, ARestoredLinuxGuestKeepsItsMemoryAndItsBalloon) {
  SKIP_WITHOUT_KVM();
  REQUIRE_LINUX_FILES();
  char dir[] = "/tmp/blimp-linux-snap-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string snap = absl::StrCat(dir, "/vm.snap"), mem = absl::StrCat(dir, "/vm.mem");
  auto booted = LinuxVm::Boot(2, kMemMib, kBalloon);
  ASSERT_TRUE(booted.ok()) << booted.status();
  std::unique_ptr<LinuxVm> source = *std::move(booted);
  ASSERT_TRUE(source->Guest("fill 24").ok());
  ASSERT_TRUE(source->SetTarget(96).ok());
  ASSERT_TRUE(source->WaitForActual(96));

  const absl::Time t0 = absl::Now();
  auto info = source->PauseAndSnapshot(snap, mem);
  ASSERT_TRUE(info.ok()) << info.status();
  std::cout << "Linux snapshot in " << absl::FormatDuration(absl::Now() - t0) << ": "
            << info->memory_written_bytes() / kMiB << " of " << info->memory_bytes() / kMiB
            << " MiB written, " << AllocatedBytes(mem) / kMiB << " MiB allocated" << std::endl;
  EXPECT_EQ(info->memory_bytes(), kMemMib * kMiB);
  EXPECT_LE(AllocatedBytes(mem), (kMemMib - 96 + 8) * kMiB) << "ballooned pages are holes";
  source.reset();  // The source is gone: only the files remain.

  auto restored_or = LinuxVm::Restore(snap, mem, kMemMib);
  ASSERT_TRUE(restored_or.ok()) << restored_or.status();
  LinuxVm& restored = **restored_or;
  std::cout << "Linux restored in " << absl::FormatDuration(restored.boot_time()) << std::endl;
  auto check = restored.Guest("check");
  ASSERT_TRUE(check.ok()) << check.status() << "\n" << restored.process().output();
  EXPECT_EQ(absl::StrJoin(*check, ""), "checked 6144 blocks");
  auto online = restored.Guest("cat /sys/devices/system/cpu/online");
  ASSERT_TRUE(online.ok()) << online.status();
  EXPECT_EQ(absl::StrJoin(*online, ""), "0-1");
  // The balloon: the same size, statistics keep arriving, it moves both ways.
  EXPECT_EQ(restored.Stats().actual_mib(), 96u);
  const uint64_t updates = restored.Metrics().stats_updates_count();
  absl::SleepFor(absl::Seconds(3));
  EXPECT_GT(restored.Metrics().stats_updates_count(), updates) << "statistics after restore";
  const uint64_t rss_before = restored.GuestRss();
  ASSERT_TRUE(restored.SetTarget(128).ok());
  EXPECT_TRUE(restored.WaitForActual(128));
  ASSERT_TRUE(restored.SetTarget(0).ok());
  EXPECT_TRUE(restored.WaitForActual(0));
  EXPECT_TRUE(restored.Guest("memhog 64").ok()) << "deflated memory is usable";
  std::cout << "guest RAM resident after restore " << rss_before / kMiB << " MiB, now "
            << restored.GuestRss() / kMiB << " MiB" << std::endl;
  auto clean = restored.Guest("dmesg-check");
  EXPECT_TRUE(clean.ok()) << clean.status();
  EXPECT_TRUE(restored.Guest("check").ok());
  (void)!::system(absl::StrCat("rm -rf ", dir).c_str());
}

}  // namespace
}  // namespace blimp::tests

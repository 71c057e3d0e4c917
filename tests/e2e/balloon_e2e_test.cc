// The balloon end to end: blimp-vmm with the Blimp test guest's virtio
// balloon driver, driven over the control socket as blimpd does.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/e2e/balloon_client.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

using blimp::v1::BalloonStats;

constexpr uint64_t kMiB = 1 << 20;

// A 512 MiB test guest with a balloon, and a client on its control socket.
class BalloonE2eTest : public ::testing::Test {
 protected:
  void Boot(const std::string& balloon_json, int mem_mib = 512) {
    // Unix socket paths are limited to 108 bytes: Bazel's TEST_TMPDIR is too deep.
    socket_ = absl::StrCat("/tmp/blimp-e2e-", ::getpid(), "-", counter_++, ".sock");
    auto vm = VmProcess::Start(TestGuestConfig(1, mem_mib, balloon_json),
                               {"--control-sock", socket_, "--id", "vm0"});
    ASSERT_TRUE(vm.ok()) << vm.status();
    vm_ = *std::move(vm);
    ASSERT_TRUE(vm_->WaitForLine("BLIMP-GUEST-READY", absl::Seconds(30)).ok()) << vm_->output();
    balloon_ = std::make_unique<BalloonClient>(socket_);
  }

  absl::Status SetTarget(uint32_t mib) { return balloon_->SetTarget(mib); }
  BalloonStats Stats() { return balloon_->Stats(); }
  blimp::v1::BalloonMetrics Metrics() { return balloon_->Metrics(); }

  // Waits until the balloon's actual size is `mib`.
  bool WaitForActual(uint32_t mib, absl::Duration timeout = absl::Seconds(60)) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (Stats().actual_mib() == mib) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "actual stayed at " << Stats().actual_mib() << " MiB, wanted " << mib
                  << "; console:\n" << vm_->output();
    return false;
  }

  // Waits for the next statistics refresh from the guest.
  BalloonStats NextStats(absl::Duration timeout = absl::Seconds(5)) {
    uint64_t before = Metrics().stats_updates_count();
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline && Metrics().stats_updates_count() == before) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    return Stats();
  }

  absl::Status StartHinting(bool acknowledge_on_stop) {
    return balloon_->StartHinting(acknowledge_on_stop);
  }
  absl::Status StopHinting() { return balloon_->StopHinting(); }
  blimp::v1::HintingStatus Hinting() { return balloon_->Hinting(); }

  // `key=N` from the guest's `balloon` line.
  uint64_t GuestBalloon(const std::string& key) {
    auto lines = vm_->Command("balloon");
    if (!lines.ok()) return ~0ull;
    for (absl::string_view word : absl::StrSplit(lines->front(), ' ')) {
      uint64_t value;
      if (absl::ConsumePrefix(&word, key + "=") && absl::SimpleAtoi(word, &value)) return value;
    }
    ADD_FAILURE() << "no " << key << " in " << lines->front();
    return ~0ull;
  }

  // Polls `done` every 50 ms for up to `timeout`.
  bool WaitFor(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(20)) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return done();
  }

  uint64_t Rss() { return *vm_->RssBytes(); }
  // Guest RAM on host transparent huge pages.
  uint64_t HugeBytes() { return *vm_->LargeMappingSmapsBytes(256 * kMiB, "AnonHugePages:"); }
  static bool HostHasThp() {
    std::ifstream mode("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string text((std::istreambuf_iterator<char>(mode)), std::istreambuf_iterator<char>());
    return !text.empty() && text.find("[never]") == std::string::npos;
  }

  void Shell(const std::string& command) {
    auto lines = vm_->Command(command);
    ASSERT_TRUE(lines.ok()) << lines.status();
    ASSERT_EQ(lines->back(), "ok") << command;
  }

  void TearDown() override { ::unlink(socket_.c_str()); }

  std::unique_ptr<VmProcess> vm_;
  std::unique_ptr<BalloonClient> balloon_;
  std::string socket_;
  static inline int counter_ = 0;
};

const char kBalloonWithStats[] =
    R"({"amount_mib": 0, "deflate_on_oom": false, "stats_polling_interval_s": 1})";

TEST_F(BalloonE2eTest, InflateReturnsMemoryToTheHostAndDeflateGivesItBack) {
  SKIP_WITHOUT_KVM();
  Boot(kBalloonWithStats);
  Shell("touch 400");
  Shell("free 400");
  uint64_t rss_before = Rss();
  uint64_t free_before = NextStats().free_memory();
  ASSERT_TRUE(SetTarget(400).ok());
  ASSERT_TRUE(WaitForActual(400));
  uint64_t released = rss_before - Rss();
  EXPECT_GE(released, 400 * kMiB * 9 / 10) << "RSS " << rss_before << " -> " << Rss();
  EXPECT_LT(NextStats().free_memory(), free_before - 300 * kMiB);
  EXPECT_GE(Metrics().discarded_bytes(), 360 * kMiB);

  ASSERT_TRUE(SetTarget(0).ok());
  ASSERT_TRUE(WaitForActual(0));
  EXPECT_GT(NextStats().free_memory(), free_before - 50 * kMiB);
  // `touch` left non-zero words in every page; the deflated ones read zero.
  auto balloon = vm_->Command("balloon");
  ASSERT_TRUE(balloon.ok());
  EXPECT_NE(balloon->front().find("deflated_pages=102400"), std::string::npos)
      << balloon->front();
  EXPECT_NE(balloon->front().find("deflated_nonzero=0"), std::string::npos) << balloon->front();
  Shell("touch 400");  // The guest can use the memory again.
  EXPECT_GE(Metrics().deflate_count(), 1u);
}

TEST_F(BalloonE2eTest, StatisticsArriveAtTheIntervalAndPatchRefreshesAtOnce) {
  SKIP_WITHOUT_KVM();
  Boot(kBalloonWithStats);
  BalloonStats stats = NextStats();
  using Has = bool (BalloonStats::*)() const;
  for (Has field : {&BalloonStats::has_swap_in, &BalloonStats::has_swap_out,
                      &BalloonStats::has_major_faults, &BalloonStats::has_minor_faults,
                      &BalloonStats::has_free_memory, &BalloonStats::has_total_memory,
                      &BalloonStats::has_available_memory, &BalloonStats::has_disk_caches,
                    &BalloonStats::has_hugetlb_allocations, &BalloonStats::has_hugetlb_failures,
                    &BalloonStats::has_oom_kill, &BalloonStats::has_alloc_stall,
                    &BalloonStats::has_async_scan, &BalloonStats::has_direct_scan,
                    &BalloonStats::has_async_reclaim, &BalloonStats::has_direct_reclaim}) {
    EXPECT_TRUE((stats.*field)()) << stats.DebugString();
  }
  EXPECT_GT(stats.total_memory(), 400 * kMiB);
  // About one update per second.
  uint64_t first = Metrics().stats_updates_count();
  absl::SleepFor(absl::Seconds(3.5));
  uint64_t updates = Metrics().stats_updates_count() - first;
  EXPECT_GE(updates, 2u);
  EXPECT_LE(updates, 5u);

  // A longer interval: PATCH refreshes at once, then updates slow down.
  uint64_t before = Metrics().stats_updates_count();
  ASSERT_TRUE(balloon_->SetStatsInterval(30).ok());
  absl::SleepFor(absl::Milliseconds(800));
  EXPECT_EQ(Metrics().stats_updates_count(), before + 1);
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(Metrics().stats_updates_count(), before + 1);
}

TEST_F(BalloonE2eTest, StatisticsBufferNotifiedBeforeDriverOkIsTakenAtDriverOk) {
  SKIP_WITHOUT_KVM();
  // 30 s: no timer tick hands the buffer back during the test, so the one
  // update is the buffer the guest primed before DRIVER_OK (as Linux does).
  Boot(R"({"amount_mib": 0, "deflate_on_oom": false, "stats_polling_interval_s": 30})");
  EXPECT_NE(vm_->output().find("queues=3 stats=primed"), std::string::npos) << vm_->output();
  EXPECT_TRUE(WaitFor([&] { return Metrics().stats_updates_count() == 1; }, absl::Seconds(5)));
  EXPECT_GT(Stats().total_memory(), 400 * kMiB);
  absl::SleepFor(absl::Milliseconds(500));
  blimp::v1::BalloonMetrics metrics = Metrics();
  EXPECT_EQ(metrics.stats_updates_count(), 1u);
  EXPECT_EQ(metrics.transport_errors(), 0u);  // An early notification is allowed.
}

TEST_F(BalloonE2eTest, DeflateOnOomGivesPagesBackToTheGuest) {
  SKIP_WITHOUT_KVM();
  Boot(R"({"amount_mib": 0, "deflate_on_oom": true, "stats_polling_interval_s": 1})");
  ASSERT_TRUE(SetTarget(412).ok());  // Leaves the guest about 100 MiB.
  ASSERT_TRUE(WaitForActual(412));
  Shell("touch 200");
  EXPECT_LT(Stats().actual_mib(), 412u);
}

TEST_F(BalloonE2eTest, WithoutDeflateOnOomTheBalloonHolds) {
  SKIP_WITHOUT_KVM();
  Boot(kBalloonWithStats);
  ASSERT_TRUE(SetTarget(412).ok());
  ASSERT_TRUE(WaitForActual(412));
  auto lines = vm_->Command("touch 200");
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(lines->back().rfind("error:", 0), 0u) << lines->back();
  EXPECT_EQ(Stats().actual_mib(), 412u);
}

TEST_F(BalloonE2eTest, FreePageReportingReturnsFreedMemory) {
  SKIP_WITHOUT_KVM();
  Boot(R"({"amount_mib": 0, "deflate_on_oom": false, "stats_polling_interval_s": 1,
           "free_page_reporting": true})");
  Shell("touch 300");
  uint64_t rss_touched = Rss();
  uint64_t huge_touched = HugeBytes();
  Shell("free 300");
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline && rss_touched - Rss() < 270 * kMiB) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_GE(rss_touched - Rss(), 270 * kMiB) << "RSS " << rss_touched << " -> " << Rss();
  if (HostHasThp()) {
    // Guest RAM is on host huge pages (blimp-vmm's default), and each 2 MiB
    // report dropped a whole one rather than splitting it.
    EXPECT_GE(huge_touched, 270 * kMiB);
    EXPECT_GE(huge_touched - std::min(huge_touched, HugeBytes()), 270 * kMiB);
  }
  EXPECT_GE(Metrics().free_page_report_freed(), 270 * kMiB);
  EXPECT_EQ(Stats().target_mib(), 0u);
  // Each report was acknowledged inside its notification (no event-loop hop).
  EXPECT_EQ(GuestBalloon("late_report_kicks"), 0u);
}

const char kBalloonWithHinting[] =
    R"({"amount_mib": 0, "deflate_on_oom": false, "free_page_hinting": true})";

TEST_F(BalloonE2eTest, FreePageHintsAreDiscardedInsideTheKickAndDoneFreesThem) {
  SKIP_WITHOUT_KVM();
  Boot(kBalloonWithHinting);
  Shell("touch 300");
  Shell("free 300");
  uint64_t rss_before = Rss();
  ASSERT_TRUE(StartHinting(true).ok());
  // The guest sends the run id, its free blocks, then STOP; the device
  // answers DONE and the guest frees the blocks it held.
  EXPECT_TRUE(WaitFor([&] { return Hinting().host_cmd() == 1; })) << vm_->output();
  EXPECT_GE(Metrics().free_page_hint_freed(), 250 * kMiB);
  EXPECT_GE(rss_before - Rss(), 250 * kMiB) << "RSS " << rss_before << " -> " << Rss();
  // Linux reuses a hinted page once the kick returns: the device must have
  // discarded it by then (no ioeventfd on the hint queue).
  EXPECT_EQ(GuestBalloon("late_hint_kicks"), 0u);
  EXPECT_TRUE(WaitFor([&] { return GuestBalloon("hinted_pages") == 0; }));
  Shell("touch 400");
}

TEST_F(BalloonE2eTest, HintingStopFreesTheGuestsPagesEvenWithoutAcknowledgeOnStop) {
  SKIP_WITHOUT_KVM();
  Boot(kBalloonWithHinting);
  ASSERT_TRUE(StartHinting(false).ok());
  uint32_t run = Hinting().host_cmd();
  ASSERT_GE(run, 2u);
  // The guest's STOP (guest_cmd 0) is not acknowledged: it keeps its blocks.
  ASSERT_TRUE(WaitFor([&] {
    blimp::v1::HintingStatus status = Hinting();
    return status.has_guest_cmd() && status.guest_cmd() == 0;
  })) << vm_->output();
  EXPECT_EQ(Hinting().host_cmd(), run);
  EXPECT_GT(GuestBalloon("hinted_pages"), 0u);
  ASSERT_TRUE(StopHinting().ok());
  EXPECT_EQ(Hinting().host_cmd(), 1u);
  EXPECT_TRUE(WaitFor([&] { return GuestBalloon("hinted_pages") == 0; }));
}

// The seed's curl commands against `blimp-vmm --api-sock` on a running VM
// (inside its seccomp filter).
TEST(RestApiE2eTest, SeedCommandsWorkOnARunningVm) {
  SKIP_WITHOUT_KVM();
  if (std::system("curl --version >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "SKIPPED: curl is not installed";
  }
  std::string sock = absl::StrCat("/tmp/blimp-e2e-api-", ::getpid(), ".sock");
  auto vm = VmProcess::Start(TestGuestConfig(1, 256, kBalloonWithStats), {"--api-sock", sock});
  ASSERT_TRUE(vm.ok()) << vm.status();
  ASSERT_TRUE((*vm)->WaitForLine("BLIMP-GUEST-READY", absl::Seconds(30)).ok());
  auto curl = [&](const std::string& args) {
    std::string command = absl::StrCat("curl -s --unix-socket ", sock, " -i ", args,
                                       " -H 'Accept: application/json'",
                                       " -H 'Content-Type: application/json'");
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
    ::pclose(pipe);
    return out;
  };
  EXPECT_NE(curl("-X GET 'http://localhost/balloon'").find("HTTP/1.1 200"), std::string::npos);
  EXPECT_NE(curl(R"(-X PATCH 'http://localhost/balloon' -d '{"amount_mib": 64}')")
                .find("HTTP/1.1 204"),
            std::string::npos);
  std::string stats = curl("-X GET 'http://localhost/balloon/statistics'");
  EXPECT_NE(stats.find("\"target_mib\":64"), std::string::npos) << stats;
  EXPECT_NE(curl(R"(-X PATCH 'http://localhost/balloon/statistics' )"
                 R"(-d '{"stats_polling_interval_s": 2}')")
                .find("HTTP/1.1 204"),
            std::string::npos);
  std::string refused = curl(R"(-X PUT 'http://localhost/balloon' )"
                             R"(-d '{"amount_mib": 1, "deflate_on_oom": false}')");
  EXPECT_NE(refused.find("HTTP/1.1 400"), std::string::npos) << refused;
  EXPECT_NE(refused.find("fault_message"), std::string::npos) << refused;
  EXPECT_FALSE((*vm)->WaitExit(absl::Milliseconds(100)).has_value()) << (*vm)->Stderr();
  ::unlink(sock.c_str());
}

// A hostile driver (the guest's `hostile CASE`): blimp-vmm keeps running,
// counts the error, touches nothing outside guest RAM, and the balloon still
// works afterwards.
class HostileDriverTest : public BalloonE2eTest,
                          public ::testing::WithParamInterface<const char*> {};

TEST_P(HostileDriverTest, IsCountedAndSurvived) {
  SKIP_WITHOUT_KVM();
  Boot(kBalloonWithStats);
  Shell("touch 64");  // Guest memory that must stay resident.
  NextStats();
  uint64_t vmm_own_before = Rss() - *vm_->LargeMappingRssBytes(512 * kMiB);
  blimp::v1::BalloonMetrics before = Metrics();

  auto lines = vm_->Command(absl::StrCat("hostile ", GetParam()));
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_EQ(lines->back(), "ok") << absl::StrJoin(*lines, "\n");

  blimp::v1::BalloonMetrics after = Metrics();
  auto errors = [](const blimp::v1::BalloonMetrics& m) {
    return m.event_fails() + m.stats_update_fails() + m.invalid_pfns() + m.transport_errors() +
           m.spurious_notifications();
  };
  EXPECT_GT(errors(after), errors(before)) << "nothing was counted for " << GetParam();
  // Nothing was discarded by the hostile request itself.
  EXPECT_EQ(after.discarded_bytes(), before.discarded_bytes());
  // The VMM's own memory did not move (e.g. no madvise outside guest RAM).
  uint64_t vmm_own_after = Rss() - *vm_->LargeMappingRssBytes(512 * kMiB);
  EXPECT_LT(std::abs(static_cast<int64_t>(vmm_own_after - vmm_own_before)),
            static_cast<int64_t>(4 * kMiB));
  // Still alive and the balloon still works.
  Shell("mem");
  ASSERT_TRUE(SetTarget(16).ok());
  EXPECT_TRUE(WaitForActual(16));
}

INSTANTIATE_TEST_SUITE_P(Cases, HostileDriverTest,
                         ::testing::Values("pfn-outside-ram", "odd-length", "write-only-inflate",
                                           "desc-loop", "desc-out-of-range",
                                           "next-out-of-range", "avail-idx-jump",
                                           "bogus-stat-tags", "queue-addr-out-of-range",
                                           "interrupt-storm", "config-write"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace blimp::tests

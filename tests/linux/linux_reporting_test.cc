// Linux's virtio_balloon, second guest (default suite, tag "kvm"): 1 vCPU,
// 192 MiB, free page reporting, deflate_on_oom off. (2 vCPUs: Linux stops
// at "x86: Booting SMP configuration" on this host; see tests/guest/linux.) Booted once, shared by
// the tests below in the order written.
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/linux/linux_vm.h"

namespace blimp::tests {
namespace {

class LinuxReportingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!KvmAvailable() || LinuxDir().empty()) return;
    auto vm = LinuxVm::Boot(1, 192,
                            R"({"amount_mib": 0, "deflate_on_oom": false,)"
                            R"( "stats_polling_interval_s": 1, "free_page_reporting": true})");
    if (vm.ok()) {
      vm_ = vm->release();
    } else {
      boot_error_ = new std::string(vm.status().ToString());
    }
  }
  static void TearDownTestSuite() {
    delete vm_;
    vm_ = nullptr;
  }
  void SetUp() override {
    SKIP_WITHOUT_KVM();
    REQUIRE_LINUX_FILES();
    ASSERT_NE(vm_, nullptr) << (boot_error_ ? *boot_error_ : "no VM");
  }
  void TearDown() override {
    if (vm_ != nullptr && HasFailure()) std::cerr << "console:\n" << vm_->process().output();
  }
  LinuxVm& vm() { return *vm_; }

  static LinuxVm* vm_;
  static std::string* boot_error_;
};
LinuxVm* LinuxReportingTest::vm_ = nullptr;
std::string* LinuxReportingTest::boot_error_ = nullptr;

// First, before the OOM test adds its report (a call trace) to the log.
TEST_F(LinuxReportingTest, KernelLogIsClean) {
  auto clean = vm().Guest("dmesg-check");
  EXPECT_TRUE(clean.ok()) << clean.status();
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

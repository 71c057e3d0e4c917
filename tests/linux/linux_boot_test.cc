// The real-Linux tier (tag "linux", scripts/test.sh --linux): Debian's
// kernel boots under blimp-vmm to its initramfs shell (BLIMP-GUEST-READY,
// printed by /init after loading virtio_mmio and virtio_balloon), then
// Linux's own virtio_balloon driver is driven over the control socket as
// blimpd does. On this host every ring-0 instruction is emulated
// (kvm-here.md), so the boot takes many minutes; the milestones reached are
// printed either way.
#include <sys/stat.h>

#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/blimp/v1/balloon_service.grpc.pb.h"
#include "tests/e2e/vm_process.h"
#include "tests/linux/linux_boot.h"

namespace blimp::tests {
namespace {

using blimp::v1::BalloonService;

// Milestones of Debian's 6.1 kernel, in boot order.
constexpr const char* kMilestones[] = {
    "Linux version",   "Memory: ",       "printk: console [ttyS0] enabled",
    "x86/fpu:",        "smpboot: CPU0:", "devtmpfs: initialized",
    "Switched to clocksource kvm-clock", "NET: Registered PF_INET protocol family",
    "Trying to unpack rootfs image", "Freeing unused kernel image", "BLIMP-GUEST-READY",
};

TEST(LinuxBootTest, BootsToShellAndBalloonWorksWithLinuxDriver) {
  if (!KvmAvailable()) GTEST_SKIP() << "SKIPPED: /dev/kvm not available";
  REQUIRE_LINUX_FILES();
  const std::string socket = absl::StrCat("/tmp/blimp-linux-", ::getpid(), ".sock");
  const absl::Time start = absl::Now();
  auto vm = VmProcess::Start(
      LinuxVmConfig(256, "vmlinux",
                    R"({"amount_mib": 0, "deflate_on_oom": false, "stats_polling_interval_s": 1})"),
      {"--control-sock", socket, "--id", "vm0"});
  ASSERT_TRUE(vm.ok()) << vm.status();
  const absl::Time deadline = start + absl::Minutes(40);
  for (const char* milestone : kMilestones) {
    auto line = (*vm)->WaitForLine(milestone, deadline - absl::Now());
    if (!line.ok()) {
      (*vm)->Signal(SIGTERM);
      (*vm)->WaitExit(absl::Seconds(10));
      FAIL() << "stopped before '" << milestone << "' after "
             << absl::FormatDuration(absl::Now() - start) << "; blimp-vmm said:\n"
             << (*vm)->Stderr() << "\nconsole tail:\n"
             << (*vm)->output().substr((*vm)->output().size() > 3000
                                           ? (*vm)->output().size() - 3000
                                           : 0);
    }
    std::cout << "milestone '" << milestone << "' at "
              << absl::FormatDuration(absl::Now() - start) << std::endl;
  }

  // Linux's virtio_balloon: inflate by 64 MiB, then deflate.
  auto stub = BalloonService::NewStub(
      grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials()));
  auto set_target = [&](uint32_t mib) {
    grpc::ClientContext context;
    blimp::v1::PatchBalloonRequest request;
    request.set_vm_id("vm0");
    request.mutable_update()->set_amount_mib(mib);
    google::protobuf::Empty empty;
    return stub->PatchBalloon(&context, request, &empty);
  };
  auto actual = [&] {
    grpc::ClientContext context;
    blimp::v1::GetBalloonStatisticsRequest request;
    request.set_vm_id("vm0");
    blimp::v1::BalloonStats stats;
    stub->GetBalloonStatistics(&context, request, &stats);
    return stats.actual_mib();
  };
  auto wait_actual = [&](uint32_t mib) {
    const absl::Time until = absl::Now() + absl::Minutes(5);
    while (absl::Now() < until && actual() != mib) absl::SleepFor(absl::Milliseconds(200));
    return actual() == mib;
  };
  ASSERT_TRUE(set_target(64).ok());
  EXPECT_TRUE(wait_actual(64)) << (*vm)->output();
  ASSERT_TRUE((*vm)->SendLine("grep MemTotal /proc/meminfo; echo DONE-1").ok());
  auto line = (*vm)->WaitForLine("DONE-1", absl::Minutes(2));
  EXPECT_TRUE(line.ok()) << (*vm)->output();
  ASSERT_TRUE(set_target(0).ok());
  EXPECT_TRUE(wait_actual(0)) << (*vm)->output();
  ASSERT_TRUE((*vm)->SendLine("memhog 64 0; echo DONE-2").ok());
  EXPECT_TRUE((*vm)->WaitForLine("memhog: touched 64 MiB", absl::Minutes(2)).ok())
      << (*vm)->output();
  (*vm)->Signal(SIGTERM);
  (*vm)->WaitExit(absl::Seconds(10));
  ::unlink(socket.c_str());
}

}  // namespace
}  // namespace blimp::tests

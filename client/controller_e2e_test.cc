// The fleet memory controller on a real blimpd: three 512 MiB test guests
// under a 900 MiB budget. The controller first takes memory back from all of
// them (they start with empty balloons: 1536 MiB backed), then one guest keeps
// touching memory through its console and the controller gives it memory
// back, without ever exceeding the budget or letting the guest run out.
#include <unistd.h>

#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/controller.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"

namespace blimp::client {
namespace {

TEST(ControllerE2eTest, MovesMemoryToTheBusyGuestWithinTheBudget) {
  if (::access("/dev/kvm", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "SKIPPED: /dev/kvm is missing or not usable";
  }
  auto started = tests::DaemonProcess::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  tests::DaemonProcess& daemon = **started;
  const std::vector<std::string> ids = {"busy", "idle1", "idle2"};
  for (const std::string& id : ids) ASSERT_TRUE(daemon.BootTestGuest(id, 512).ok()) << id;

  ControllerOptions options;
  options.vm_ids = ids;
  options.policy.budget_mib = 900;
  options.policy.max_stats_age = absl::Seconds(5);
  options.interval = absl::Milliseconds(500);
  Controller controller(
      grpc::CreateChannel(absl::StrCat("unix:", daemon.run_dir(), "/blimp.grpc.sock"),
                          grpc::InsecureChannelCredentials()),
      options);
  std::thread loop([&] { controller.Run(); });

  auto backed = [&] {
    int64_t sum = 0;
    for (const std::string& id : ids) {
      auto vm = daemon.GetVm(id);
      EXPECT_TRUE(vm.ok()) << vm.status();
      if (vm.ok()) sum += 512 - static_cast<int64_t>(vm->balloon_target_mib());
    }
    return sum;
  };
  // First the fleet comes under the budget.
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (backed() > 900 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(200));
  ASSERT_LE(backed(), 900);
  absl::SleepFor(absl::Seconds(3));  // Let it settle.
  auto before = daemon.GetVm("busy");
  ASSERT_TRUE(before.ok());
  const uint32_t busy_target_before = before->balloon_target_mib();
  EXPECT_GT(busy_target_before, 128u) << "the controller took memory back from the guests";

  // The busy guest touches 40 MiB every 2 s, 8 times: 320 MiB in all, more
  // than it had left outside its balloon.
  for (int i = 0; i < 8; ++i) {
    std::string out = daemon.Console("busy", "touch 40", {"touched:", "error:"});
    EXPECT_THAT(out, ::testing::HasSubstr("touched: 40 MiB")) << "round " << i << ": " << out;
    EXPECT_LE(backed(), 900) << "round " << i;
    absl::SleepFor(absl::Seconds(2));
  }
  auto after = daemon.GetVm("busy");
  ASSERT_TRUE(after.ok());
  EXPECT_LT(after->balloon_target_mib(), busy_target_before);
  EXPECT_LE(backed(), 900);
  for (const char* id : {"idle1", "idle2"}) {
    auto vm = daemon.GetVm(id);
    ASSERT_TRUE(vm.ok());
    EXPECT_GT(vm->balloon_target_mib(), 0u) << id << " gave memory back";
    EXPECT_LE(vm->balloon_target_mib(), 512u - 128u) << id << " keeps the floor";
  }
  controller.Stop();
  loop.join();
}

}  // namespace
}  // namespace blimp::client

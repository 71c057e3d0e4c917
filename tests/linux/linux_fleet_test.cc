// blimpd with two Linux guests (192 MiB each) and the fleet controller
// (blimp-autoballoon's loop) under a 160 MiB budget, less than the two
// would keep at rest (~80 MiB each in the band): it first takes memory from
// both, then one guest's memhog holds 64 MiB more and the controller funds
// it from the idle one, never over budget, the busy guest never running out
// (deflate_on_oom is off: only the controller can help it). Last, the idle
// guest (deflate_on_oom on) runs out under its balloon and Linux deflates it
// itself; blimpd's memory check never flags either guest. Then the busy
// guest migrates to a second blimpd and keeps its file and its balloon.
#include <chrono>
#include <iostream>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/controller.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"
#include "tests/linux/linux_boot.h"
#include "tests/linux/linux_vm.h"

namespace blimp::tests {
namespace {

constexpr int kMemMib = 192;
constexpr uint32_t kBudgetMib = 160;

blimp::v1::VmConfig LinuxConfig(bool deflate_on_oom) {
  blimp::v1::VmConfig config;
  config.mutable_boot_source()->set_kernel_image_path(LinuxDir() + "/vmlinux");
  config.mutable_boot_source()->set_initrd_path(LinuxDir() + "/initramfs.cpio");
  config.mutable_boot_source()->set_boot_args(kLinuxCmdline);
  config.mutable_machine_config()->set_vcpu_count(1);
  config.mutable_machine_config()->set_mem_size_mib(kMemMib);
  config.mutable_balloon()->set_amount_mib(0);
  config.mutable_balloon()->set_deflate_on_oom(deflate_on_oom);
  config.mutable_balloon()->set_stats_polling_interval_s(1);
  return config;
}

TEST(LinuxFleetTest, ControllerMovesMemoryFromTheIdleGuestToTheBusyOne) {
  SKIP_WITHOUT_KVM();
  REQUIRE_LINUX_FILES();
  auto started = DaemonProcess::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  const std::vector<std::string> ids = {"busy", "idle"};
  // Both boot at once, one per host core.
  std::vector<absl::Status> booted(ids.size());
  {
    std::vector<std::thread> boots;
    for (size_t i = 0; i < ids.size(); ++i) {
      boots.emplace_back([&, i] {
        booted[i] = daemon.BootVm(ids[i], LinuxConfig(ids[i] == "idle"), absl::Seconds(180));
      });
    }
    for (std::thread& t : boots) t.join();
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(booted[i].ok()) << ids[i] << booted[i];
    std::string log = daemon.Console(ids[i], "dmesg-check", {"ok", "error:"});
    EXPECT_THAT(log, ::testing::ContainsRegex("(^|\n)ok\r?\n")) << ids[i] << ": " << log;
  }

  client::ControllerOptions options;
  options.vm_ids = ids;
  options.policy.budget_mib = kBudgetMib;
  options.policy.floor_mib = 32;
  options.policy.max_stats_age = absl::Seconds(5);
  options.interval = absl::Milliseconds(500);
  client::Controller controller(
      grpc::CreateChannel(absl::StrCat("unix:", daemon.run_dir(), "/blimp.grpc.sock"),
                          grpc::InsecureChannelCredentials()),
      options);
  std::thread loop([&] { controller.Run(); });

  auto target = [&](const std::string& id) {
    auto vm = daemon.GetVm(id);
    EXPECT_TRUE(vm.ok()) << vm.status();
    return vm.ok() ? vm->balloon_target_mib() : 0u;
  };
  auto backed = [&] {
    int64_t sum = 0;
    for (const std::string& id : ids) sum += kMemMib - static_cast<int64_t>(target(id));
    return sum;
  };
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (backed() > kBudgetMib && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(200));
  ASSERT_LE(backed(), kBudgetMib);
  absl::SleepFor(absl::Seconds(3));  // Let it settle.
  const uint32_t busy_before = target("busy");
  const uint32_t idle_before = target("idle");
  EXPECT_GT(busy_before, 32u) << "the controller took memory back from both";
  EXPECT_GT(idle_before, 32u);

  // memhog holds 4 x 16 MiB more in the busy guest, more than it had left
  // outside its balloon.
  for (int i = 0; i < 4; ++i) {
    std::string out = daemon.Console("busy", "hog 16", {"ok", "error:"}, absl::Seconds(60));
    EXPECT_THAT(out, ::testing::HasSubstr("ok")) << "round " << i << ": " << out;
    EXPECT_LE(backed(), kBudgetMib) << "round " << i;
    absl::SleepFor(absl::Seconds(4));
  }
  EXPECT_LT(target("busy"), busy_before) << "the busy guest got memory";
  EXPECT_GT(target("idle"), idle_before) << "funded by the idle guest";
  EXPECT_LE(backed(), kBudgetMib);
  std::string oom = daemon.Console("busy", "dmesg-count Out of memory", {"ok", "error:"});
  EXPECT_THAT(oom, ::testing::ContainsRegex("(^|\n)0\r?\n")) << "no OOM kill in the busy guest: " << oom;
  controller.Stop();
  loop.join();

  // deflate_on_oom under blimpd's memory check: the idle guest's balloon
  // leaves it ~16 MiB available, then memhog asks for 40 MiB and Linux's OOM
  // notifier deflates the balloon (telling the host first) until it fits.
  auto stats = daemon.Stats("idle");
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_TRUE(stats->has_available_memory());
  const uint32_t oom_target =
      target("idle") + static_cast<uint32_t>(stats->available_memory() / kMiB) - 16;
  ASSERT_TRUE(daemon.SetTarget("idle", oom_target).ok());
  ASSERT_TRUE(daemon.WaitForActual("idle", oom_target, absl::Seconds(60)).ok());
  std::string hog = daemon.Console("idle", "memhog 40", {"ok", "error:"}, absl::Seconds(90));
  EXPECT_THAT(hog, ::testing::ContainsRegex("(^|\n)ok\r?\n")) << hog;
  auto idle = daemon.GetVm("idle");
  ASSERT_TRUE(idle.ok()) << idle.status();
  EXPECT_LT(idle->balloon_actual_mib(), oom_target) << "Linux deflated the balloon";
  // Longer than the check's grace period (3 s) and interval (1 s).
  absl::SleepFor(absl::Seconds(5));
  // Linux's driver is honest: memory moved under pressure never looks like
  // a guest keeping pages it gave back (blimpd's memory check, monitor mode).
  for (const std::string& id : ids) {
    auto vm = daemon.GetVm(id);
    ASSERT_TRUE(vm.ok()) << vm.status();
    EXPECT_EQ(vm->memory_enforcement().mode(), "monitor") << id;
    EXPECT_GT(vm->memory_enforcement().guest_resident_bytes(), 0u) << id << " was not measured";
    EXPECT_FALSE(vm->memory_enforcement().flagged())
        << id << ": " << vm->memory_enforcement().reason();
    EXPECT_EQ(vm->memory_enforcement().flag_count(), 0u) << id;
  }

  // Migration to a second blimpd: Linux's driver keeps working there, the
  // file written before is intact, and only resident memory travels.
  auto second = DaemonProcess::Start();
  ASSERT_TRUE(second.ok()) << second.status();
  DaemonProcess& target_daemon = **second;
  std::string unhog = daemon.Console("busy", "unhog", {"ok", "error:"});
  ASSERT_THAT(unhog, ::testing::ContainsRegex("(^|\n)ok\r?\n")) << unhog;
  // The controller phase may have logged allocation warnings: none may follow.
  const std::string traces = daemon.Console("busy", "dmesg-count Call Trace", {"ok", "error:"});
  std::string filled = daemon.Console("busy", "fill 16", {"ok", "error:"}, absl::Seconds(60));
  ASSERT_THAT(filled, ::testing::ContainsRegex("(^|\n)ok\r?\n")) << filled;
  // Seconds since boot, from /proc/uptime ("123.45 67.89"); -1 if unreadable.
  auto uptime = [](DaemonProcess& host) {
    const std::string out = host.Console("busy", "cat /proc/uptime", {"ok", "error:"});
    for (absl::string_view line : absl::StrSplit(out, '\n')) {
      double seconds;
      if (!line.empty() && absl::ascii_isdigit(line[0]) &&
          absl::SimpleAtod(line.substr(0, line.find(' ')), &seconds)) {
        return seconds;
      }
    }
    return -1.0;
  };
  const double uptime_before = uptime(daemon);
  ASSERT_GT(uptime_before, 0);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  blimp::v1::MigrateVmRequest migrate;
  migrate.set_vm_id("busy");
  migrate.set_target("unix:" + target_daemon.run_dir() + "/blimp.grpc.sock");
  blimp::v1::MigrateVmResponse moved;
  grpc::Status status = daemon.vms().MigrateVm(&context, migrate, &moved);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::cout << "Linux guest migrated: " << moved.memory_sent_bytes() / kMiB << " of "
            << moved.memory_bytes() / kMiB << " MiB sent (balloon "
            << moved.vm().balloon_actual_mib() << " MiB), snapshot " << moved.snapshot_ms()
            << " ms, transfer " << moved.transfer_ms() << " ms, downtime " << moved.downtime_ms()
            << " ms" << std::endl;
  EXPECT_LT(moved.memory_sent_bytes(), moved.memory_bytes());
  EXPECT_FALSE(daemon.GetVm("busy").ok());
  std::string checked = target_daemon.Console("busy", "check", {"ok", "error:"}, absl::Seconds(60));
  EXPECT_THAT(checked, ::testing::ContainsRegex("(^|\n)ok\r?\n")) << checked;
  EXPECT_EQ(target_daemon.Console("busy", "dmesg-count Call Trace", {"ok", "error:"}), traces);
  EXPECT_GT(uptime(target_daemon), uptime_before) << "its clock moves on";
  auto moved_vm = target_daemon.GetVm("busy");
  ASSERT_TRUE(moved_vm.ok()) << moved_vm.status();
  EXPECT_EQ(moved_vm->state(), blimp::v1::VM_STATE_RUNNING);
  const uint32_t after_move = moved_vm->balloon_actual_mib();
  ASSERT_TRUE(target_daemon.SetTarget("busy", after_move + 32).ok());
  EXPECT_TRUE(target_daemon.WaitForActual("busy", after_move + 32, absl::Seconds(60)).ok());
  ASSERT_TRUE(target_daemon.SetTarget("busy", 0).ok());
  EXPECT_TRUE(target_daemon.WaitForActual("busy", 0, absl::Seconds(60)).ok());
  auto moved_stats = target_daemon.Stats("busy");
  ASSERT_TRUE(moved_stats.ok()) << moved_stats.status();
  EXPECT_TRUE(moved_stats->has_available_memory());
  std::string hogged = target_daemon.Console("busy", "memhog 64", {"ok", "error:"},
                                             absl::Seconds(90));
  EXPECT_THAT(hogged, ::testing::ContainsRegex("(^|\n)ok\r?\n")) << hogged;
}

}  // namespace
}  // namespace blimp::tests

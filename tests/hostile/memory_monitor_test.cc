// blimpd's host-side balloon check (memory_enforcement "monitor", the
// default), against the real blimpd and the test guest: a lying driver
// (hostile steal-balloon: ballooned pages written and kept, `actual`
// unchanged, then the rest of RAM used too) is flagged within seconds, in GetVm, GET /vms/{id}, /metrics
// the log and a WatchVmEvents stream, with the numbers; an honest guest that deflates on OOM
// under memory pressure is never flagged; impossible statistics (hostile
// impossible-stats) are counted and flag the VM for good.
#include <fstream>
#include <iostream>
#include <sstream>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/http_client.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

namespace v1 = blimp::v1;
constexpr uint64_t kMiB = 1 << 20;

const std::vector<std::string> kFlags = {"--memory-check-interval=250ms", "--memory-grace=2s",
                                         "--memory-slack-mib=16"};

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A line of GET /metrics, e.g. `blimp_vm_memory_flagged{vm="vm"}`: its value.
int64_t Metric(DaemonProcess& daemon, const std::string& series) {
  auto metrics = HttpRequest(daemon.rest_socket(), "GET", "/metrics");
  if (!metrics.ok() || metrics->status != 200) return -1;
  for (absl::string_view line : absl::StrSplit(metrics->body, '\n')) {
    int64_t value;
    if (absl::ConsumePrefix(&line, series + " ") && absl::SimpleAtoi(line, &value)) return value;
  }
  return -1;
}

TEST(MemoryMonitorTest, ALyingDriverIsFlaggedWithinSeconds) {
  SKIP_WITHOUT_KVM();
  auto started = DaemonProcess::Start(kFlags);
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  ASSERT_TRUE(daemon.BootTestGuest("vm", 128).ok());
  ASSERT_TRUE(daemon.BootTestGuest("bystander", 64).ok());
  ASSERT_TRUE(daemon.SetTarget("vm", 64).ok());
  ASSERT_TRUE(daemon.WaitForActual("vm", 64).ok());
  // Honest so far: measured, under the line, mode monitor by default.
  absl::SleepFor(absl::Seconds(1));
  auto vm = daemon.GetVm("vm");
  ASSERT_TRUE(vm.ok()) << vm.status();
  ASSERT_TRUE(vm->has_memory_enforcement()) << vm->DebugString();
  EXPECT_EQ(vm->memory_enforcement().mode(), "monitor");
  EXPECT_FALSE(vm->memory_enforcement().flagged());
  EXPECT_EQ(vm->memory_enforcement().guest_allowed_bytes(), 64 * kMiB);
  EXPECT_LE(vm->memory_enforcement().guest_resident_bytes(), 64 * kMiB);
  EXPECT_GT(vm->memory_enforcement().guest_resident_bytes(), 0u);
  EXPECT_EQ(Metric(daemon, "blimp_vm_memory_flagged{vm=\"vm\"}"), 0);

  // A WatchVmEvents stream on the VM, open before the lie.
  grpc::ClientContext watch_context;
  v1::WatchVmEventsRequest watch_request;
  watch_request.set_vm_id("vm");
  auto watch = daemon.vms().WatchVmEvents(&watch_context, watch_request);
  watch->WaitForInitialMetadata();
  std::optional<v1::VmEvent> event;
  absl::Time event_time;
  std::thread reader([&] {
    v1::VmEvent e;
    if (watch->Read(&e)) {
      event = e;
      event_time = absl::Now();
    }
  });

  const std::string sent = daemon.Console("vm", "hostile steal-balloon", {"ok", "error:"});
  ASSERT_TRUE(absl::StrContains(sent, "wrote and kept 16384 ballooned pages")) << sent;
  // The stolen pages alone fit what the balloon leaves; the lie shows
  // once the guest also uses the rest of its RAM.
  const std::string touched = daemon.Console("vm", "touch 56", {"ok", "error:"}, absl::Seconds(60));
  ASSERT_TRUE(absl::StrContains(touched, "touched: 56 MiB")) << touched;
  const absl::Time lied = absl::Now();
  for (absl::Time end = lied + absl::Seconds(15); absl::Now() < end;) {
    vm = daemon.GetVm("vm");
    if (vm.ok() && vm->memory_enforcement().flagged()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  const absl::Duration took = absl::Now() - lied;
  ASSERT_TRUE(vm.ok());
  ASSERT_TRUE(vm->memory_enforcement().flagged()) << vm->DebugString();
  std::cerr << "lying driver flagged after " << took << " (grace 2s, checks every 250ms)\n";
  EXPECT_LT(took, absl::Seconds(5));
  EXPECT_GE(vm->memory_enforcement().guest_resident_bytes(), 120 * kMiB);
  EXPECT_EQ(vm->memory_enforcement().guest_allowed_bytes(), 64 * kMiB);
  EXPECT_EQ(vm->memory_enforcement().flag_count(), 1u);
  EXPECT_TRUE(absl::StrContains(vm->memory_enforcement().reason(), "balloon leaves it 64 MiB"))
      << vm->memory_enforcement().reason();
  EXPECT_EQ(vm->state(), v1::VM_STATE_RUNNING) << "monitor mode only flags";

  auto rest = HttpRequest(daemon.rest_socket(), "GET", "/vms/vm");
  ASSERT_TRUE(rest.ok());
  EXPECT_TRUE(absl::StrContains(rest->body, "\"flagged\":true") ||
              absl::StrContains(rest->body, "\"flagged\": true"))
      << rest->body;
  EXPECT_EQ(Metric(daemon, "blimp_vm_memory_flagged{vm=\"vm\"}"), 1);
  EXPECT_EQ(Metric(daemon, "blimp_vm_memory_flagged{vm=\"bystander\"}"), 0);
  EXPECT_EQ(Metric(daemon, "blimp_vm_memory_flags_total{vm=\"vm\"}"), 1);
  EXPECT_TRUE(absl::StrContains(Read(daemon.log_path()), "VM 'vm': memory flagged (monitor)"))
      << Read(daemon.log_path());
  auto bystander = daemon.GetVm("bystander");
  ASSERT_TRUE(bystander.ok());
  EXPECT_FALSE(bystander->memory_enforcement().flagged());

  // The stream saw it as it happened.
  for (absl::Time end = absl::Now() + absl::Seconds(5); !event && absl::Now() < end;) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  watch_context.TryCancel();
  reader.join();
  ASSERT_TRUE(event.has_value()) << "no WatchVmEvents event";
  EXPECT_EQ(event->vm_id(), "vm");
  EXPECT_EQ(event->kind(), v1::VM_EVENT_MEMORY_FLAGGED);
  EXPECT_TRUE(absl::StrContains(event->reason(), "balloon leaves it 64 MiB")) << event->reason();
  EXPECT_TRUE(event->memory_enforcement().flagged());
  EXPECT_LT(event_time - lied, absl::Seconds(5));
}

TEST(MemoryMonitorTest, AnHonestGuestDeflatingOnOomIsNeverFlagged) {
  SKIP_WITHOUT_KVM();
  auto started = DaemonProcess::Start(kFlags);
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  v1::VmConfig config = TestGuestVmConfig(128);
  config.mutable_balloon()->set_deflate_on_oom(true);
  ASSERT_TRUE(daemon.BootVm("vm", config, absl::Seconds(30)).ok());
  ASSERT_TRUE(daemon.SetTarget("vm", 96).ok());
  ASSERT_TRUE(daemon.WaitForActual("vm", 96).ok());
  // More than the balloon leaves: the guest takes pages back (deflate on
  // OOM) as it goes, telling the host each time.
  const std::string touched =
      daemon.Console("vm", "touch 100", {"ok", "error:"}, absl::Seconds(60));
  EXPECT_TRUE(absl::StrContains(touched, "touched: 100 MiB")) << touched;
  uint64_t max_resident = 0;
  for (absl::Time end = absl::Now() + absl::Seconds(5); absl::Now() < end;) {
    auto vm = daemon.GetVm("vm");
    ASSERT_TRUE(vm.ok());
    EXPECT_FALSE(vm->memory_enforcement().flagged()) << vm->memory_enforcement().reason();
    max_resident = std::max(max_resident, vm->memory_enforcement().guest_resident_bytes());
    absl::SleepFor(absl::Milliseconds(250));
  }
  auto vm = daemon.GetVm("vm");
  ASSERT_TRUE(vm.ok());
  // The case was real: the balloon gave pages back and the guest uses them.
  EXPECT_LT(vm->balloon_actual_mib(), 96u);
  EXPECT_GE(max_resident, 90 * kMiB);
  EXPECT_EQ(vm->memory_enforcement().flag_count(), 0u);
  EXPECT_EQ(Metric(daemon, "blimp_vm_memory_flags_total{vm=\"vm\"}"), 0);
}

TEST(MemoryMonitorTest, ImpossibleStatisticsAreCountedAndFlagTheVm) {
  SKIP_WITHOUT_KVM();
  auto started = DaemonProcess::Start(kFlags);
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  ASSERT_TRUE(daemon.BootTestGuest("vm", 128).ok());
  // Honest statistics for a few refreshes: never counted.
  absl::SleepFor(absl::Seconds(2));
  auto vm = daemon.GetVm("vm");
  ASSERT_TRUE(vm.ok());
  EXPECT_EQ(vm->memory_enforcement().stats_anomalies(), 0u) << vm->memory_enforcement().stats_reason();
  EXPECT_FALSE(vm->memory_enforcement().stats_flagged());
  EXPECT_EQ(Metric(daemon, "blimp_vm_stats_anomalies_total{vm=\"vm\"}"), 0);

  const std::string sent =
      daemon.Console("vm", "hostile impossible-stats", {"ok", "error:"});
  ASSERT_TRUE(absl::StrContains(sent, "impossible-stats sent")) << sent;
  for (absl::Time end = absl::Now() + absl::Seconds(10); absl::Now() < end;) {
    vm = daemon.GetVm("vm");
    if (vm.ok() && vm->memory_enforcement().stats_flagged()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(vm.ok());
  const v1::MemoryEnforcement& e = vm->memory_enforcement();
  ASSERT_TRUE(e.stats_flagged()) << vm->DebugString();
  EXPECT_GE(e.stats_anomalies(), 1u);
  EXPECT_TRUE(absl::StrContains(e.stats_reason(), "> total_memory") ||
              absl::StrContains(e.stats_reason(), "impossible values"))
      << e.stats_reason();
  EXPECT_GE(Metric(daemon, "blimp_balloon_stats_impossible_total{vm=\"vm\"}"), 1);
  EXPECT_GE(Metric(daemon, "blimp_vm_stats_anomalies_total{vm=\"vm\"}"), 1);
  EXPECT_TRUE(absl::StrContains(Read(daemon.log_path()), "impossible balloon statistics"));
  // The flag stays once the guest reports honest values again.
  absl::SleepFor(absl::Seconds(2));
  vm = daemon.GetVm("vm");
  ASSERT_TRUE(vm.ok());
  EXPECT_TRUE(vm->memory_enforcement().stats_flagged());
  EXPECT_EQ(vm->state(), v1::VM_STATE_RUNNING);
}

}  // namespace
}  // namespace blimp::tests

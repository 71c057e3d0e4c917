// Pause and resume end to end with the test guest: gRPC PauseVm/ResumeVm
// through blimpd, Firecracker's PATCH /vm on a VM's firecracker.socket and
// on blimpd's REST socket, the state everywhere it is shown, a paused guest
// running no code while its balloon still takes calls, and stop while paused.
#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

namespace v1 = blimp::v1;

absl::StatusOr<v1::Vm> Pause(DaemonProcess& daemon, const std::string& id) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::PauseVmRequest request;
  request.set_vm_id(id);
  v1::Vm vm;
  grpc::Status status = daemon.vms().PauseVm(&context, request, &vm);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return vm;
}

absl::StatusOr<v1::Vm> Resume(DaemonProcess& daemon, const std::string& id) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::ResumeVmRequest request;
  request.set_vm_id(id);
  v1::Vm vm;
  grpc::Status status = daemon.vms().ResumeVm(&context, request, &vm);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return vm;
}

// The guest's "uptime: N ms", or -1.
int64_t Uptime(DaemonProcess& daemon, const std::string& id) {
  std::string out = daemon.Console(id, "uptime", {"uptime:"});
  size_t at = out.find("uptime: ");
  int64_t ms = -1;
  if (at == std::string::npos) return -1;
  size_t end = out.find(' ', at + 8);
  if (!absl::SimpleAtoi(out.substr(at + 8, end - at - 8), &ms)) return -1;
  return ms;
}

TEST(PauseE2eTest, APausedGuestRunsNoCodeAndItsBalloonWaitsForTheResume) {
  SKIP_WITHOUT_KVM();
  auto started = DaemonProcess::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  v1::VmConfig config = TestGuestVmConfig(128);
  config.mutable_machine_config()->set_vcpu_count(2);  // Every vCPU parks.
  ASSERT_TRUE(daemon.BootVm("vm", config, absl::Seconds(30)).ok());
  const int64_t before = Uptime(daemon, "vm");
  ASSERT_GT(before, 0);

  auto paused = Pause(daemon, "vm");
  ASSERT_TRUE(paused.ok()) << paused.status();
  EXPECT_EQ(paused->state(), v1::VM_STATE_PAUSED);
  EXPECT_GT(paused->vmm_pid(), 0);
  EXPECT_EQ(daemon.GetVm("vm")->state(), v1::VM_STATE_PAUSED);
  auto metrics = HttpRequest(daemon.rest_socket(), "GET", "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_TRUE(absl::StrContains(metrics->body, R"(blimp_vm_state{vm="vm",state="paused"} 1)"))
      << metrics->body;
  // Pausing again is a no-op.
  auto again = Pause(daemon, "vm");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->state(), v1::VM_STATE_PAUSED);

  // No guest code runs: the shell does not answer.
  std::string silent = daemon.Console("vm", "echo still-here", {"still-here"}, absl::Seconds(2));
  EXPECT_FALSE(absl::StrContains(silent, "\nstill-here")) << silent;
  // The balloon takes a new target, which the guest acts on once resumed.
  ASSERT_TRUE(daemon.SetTarget("vm", 32).ok());
  absl::SleepFor(absl::Seconds(1));
  auto stats = daemon.Stats("vm");
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->target_mib(), 32u);
  EXPECT_EQ(stats->actual_mib(), 0u) << "a paused guest inflated its balloon";

  auto resumed = Resume(daemon, "vm");
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->state(), v1::VM_STATE_RUNNING);
  EXPECT_TRUE(daemon.WaitForActual("vm", 32).ok());
  const int64_t after = Uptime(daemon, "vm");
  EXPECT_GT(after, before + 2000) << "the guest's clock moves on across the pause";
  // Both vCPUs still run: the guest still answers, and resuming again is a no-op.
  EXPECT_TRUE(absl::StrContains(daemon.Console("vm", "cpus", {"cpus:"}), "cpus: 2"));
  auto twice = Resume(daemon, "vm");
  ASSERT_TRUE(twice.ok()) << twice.status();
  EXPECT_EQ(twice->state(), v1::VM_STATE_RUNNING);
}

TEST(PauseE2eTest, FirecrackerPatchVmOnBothSocketsWithItsErrors) {
  SKIP_WITHOUT_KVM();
  auto started = DaemonProcess::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  // Created, never started: PATCH /vm is refused with a reason (below).
  auto created = HttpRequest(
      daemon.rest_socket(), "PUT", "/vms/early",
      absl::StrCat(R"({"boot-source": {"kernel_image_path": ")", TestGuestKernel(),
                   R"("}, "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}})"));
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->status, 204) << created->body;
  ASSERT_TRUE(daemon.BootTestGuest("vm", 128).ok());
  const std::string socket = daemon.vm_socket("vm");

  auto patch = HttpRequest(socket, "PATCH", "/vm", R"({"state": "Paused"})");
  ASSERT_TRUE(patch.ok());
  EXPECT_EQ(patch->status, 204) << patch->body;
  auto info = HttpRequest(socket, "GET", "/");
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(absl::StrContains(info->body, R"("state":"Paused")")) << info->body;
  auto listed = HttpRequest(daemon.rest_socket(), "GET", "/vms");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(absl::StrContains(listed->body, "VM_STATE_PAUSED")) << listed->body;

  for (const char* bad : {R"({"state": "Sleeping"})", R"({"state": 1})", R"({})",
                          R"({"state": "Paused", "extra": 1})", "not json"}) {
    auto refused = HttpRequest(socket, "PATCH", "/vm", bad);
    ASSERT_TRUE(refused.ok());
    EXPECT_EQ(refused->status, 400) << bad;
    EXPECT_TRUE(absl::StrContains(refused->body, "fault_message")) << bad << ": " << refused->body;
  }
  auto wrong_method = HttpRequest(socket, "PUT", "/vm", R"({"state": "Paused"})");
  ASSERT_TRUE(wrong_method.ok());
  EXPECT_EQ(wrong_method->status, 405);
  // Still paused after all that.
  EXPECT_EQ(daemon.GetVm("vm")->state(), v1::VM_STATE_PAUSED);

  // blimpd's REST socket, at /vms/{id}/vm.
  auto resume = HttpRequest(daemon.rest_socket(), "PATCH", "/vms/vm/vm", R"({"state": "Resumed"})");
  ASSERT_TRUE(resume.ok());
  EXPECT_EQ(resume->status, 204) << resume->body;
  EXPECT_EQ(daemon.GetVm("vm")->state(), v1::VM_STATE_RUNNING);
  auto unknown = HttpRequest(daemon.rest_socket(), "PATCH", "/vms/nope/vm", R"({"state": "Paused"})");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->status, 404) << unknown->body;
  auto not_started = HttpRequest(daemon.rest_socket(), "PATCH", "/vms/early/vm",
                                 R"({"state": "Paused"})");
  ASSERT_TRUE(not_started.ok());
  EXPECT_EQ(not_started->status, 400) << not_started->body;
  EXPECT_TRUE(absl::StrContains(not_started->body, "before starting")) << not_started->body;
}

TEST(PauseE2eTest, APausedVmStopsAndIsNotResumedAfterwards) {
  SKIP_WITHOUT_KVM();
  auto started = DaemonProcess::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  ASSERT_TRUE(daemon.BootTestGuest("vm", 128).ok());
  ASSERT_TRUE(Pause(daemon, "vm").ok());
  grpc::ClientContext context;
  v1::StopVmRequest request;
  request.set_vm_id("vm");
  v1::Vm stopped;
  const absl::Time t0 = absl::Now();
  ASSERT_TRUE(daemon.vms().StopVm(&context, request, &stopped).ok());
  // Stopped by blimp-vmm itself, not by blimpd's SIGTERM after the grace.
  EXPECT_LT(absl::Now() - t0, absl::Seconds(2));
  EXPECT_EQ(daemon.GetVm("vm")->state(), v1::VM_STATE_STOPPED);
  auto resumed = Resume(daemon, "vm");
  EXPECT_EQ(resumed.status().code(), absl::StatusCode::kFailedPrecondition) << resumed.status();
  auto paused = Pause(daemon, "vm");
  EXPECT_EQ(paused.status().code(), absl::StatusCode::kFailedPrecondition) << paused.status();
  EXPECT_EQ(Pause(daemon, "nope").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace blimp::tests

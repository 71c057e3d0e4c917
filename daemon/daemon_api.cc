#include "daemon/daemon_api.h"

#include "absl/strings/str_cat.h"
#include "api/validate.h"
#include "base/status_macros.h"
#include "daemon/gather.h"
#include "glog/logging.h"

namespace blimp::daemon {

namespace v1 = blimp::v1;

namespace {

std::unique_ptr<StatsFanout> NewStatsFanout(WatchLimits limits) {
  absl::StatusOr<std::unique_ptr<StatsFanout>> fanout = StatsFanout::Create(limits);
  // An epoll fd and an eventfd at start: only a host out of fds refuses.
  CHECK(fanout.ok()) << "statistics fan-out: " << fanout.status();
  return *std::move(fanout);
}

}  // namespace

DaemonApi::DaemonApi(Supervisor& supervisor, WatchLimits limits)
    : supervisor_(supervisor), stats_fanout_(NewStatsFanout(limits)) {}

absl::StatusOr<v1::Vm> DaemonApi::CreateVm(const std::string& vm_id, const v1::VmConfig& config) {
  return supervisor_.CreateVm(vm_id, config);
}

absl::Status DaemonApi::PutBootSource(const std::string& vm_id,
                                      const v1::BootSource& boot_source) {
  RETURN_IF_ERROR(api::ValidateBootSource(boot_source));
  return supervisor_.PutBootSource(vm_id, boot_source);
}

absl::Status DaemonApi::PutMachineConfig(const std::string& vm_id,
                                         const v1::MachineConfig& machine) {
  RETURN_IF_ERROR(api::ValidateMachineConfig(machine));
  return supervisor_.PutMachineConfig(vm_id, machine);
}

absl::StatusOr<v1::Vm> DaemonApi::StartVm(const std::string& vm_id) {
  return supervisor_.StartVm(vm_id);
}

absl::StatusOr<v1::Vm> DaemonApi::StopVm(const std::string& vm_id) {
  return supervisor_.StopVm(vm_id);
}

absl::StatusOr<v1::Vm> DaemonApi::PauseVm(const std::string& vm_id) {
  return supervisor_.SetPaused(vm_id, true);
}

absl::StatusOr<v1::Vm> DaemonApi::ResumeVm(const std::string& vm_id) {
  return supervisor_.SetPaused(vm_id, false);
}

absl::StatusOr<v1::SnapshotInfo> DaemonApi::CreateSnapshot(
    const std::string& vm_id, const v1::SnapshotCreateParams& params) {
  return supervisor_.CreateSnapshot(vm_id, params);
}

absl::StatusOr<v1::Vm> DaemonApi::LoadSnapshot(const std::string& vm_id,
                                               const v1::SnapshotLoadParams& params) {
  return supervisor_.CreateVmFromSnapshot(vm_id, params);
}

absl::Status DaemonApi::DeleteVm(const std::string& vm_id) { return supervisor_.DeleteVm(vm_id); }

absl::StatusOr<v1::Vm> DaemonApi::GetVm(const std::string& vm_id) {
  return supervisor_.GetVm(vm_id);
}

std::vector<v1::Vm> DaemonApi::ListVms() { return supervisor_.ListVms(); }

std::vector<api::VmMetrics> DaemonApi::CollectMetrics() {
  // One bounded pass: each VM's state and its counters are asked at once
  // (two calls, each with the whole bound), so a wedged VM costs the page
  // describe_timeout once, not once for the list and again for the counters.
  const std::vector<std::shared_ptr<VmInstance>> vms = supervisor_.Listed();
  const absl::Duration timeout = supervisor_.options().describe_timeout;
  std::vector<std::function<api::VmMetrics()>> calls;
  for (const auto& vm : vms) {
    calls.push_back([vm, timeout] { return api::VmMetrics{vm->Describe(timeout), std::nullopt}; });
    calls.push_back([vm] {
      api::VmMetrics counters;
      // An exited VM has none; one without a balloon answers an error.
      if (!vm->exited()) {
        absl::StatusOr<v1::BalloonMetrics> balloon = vm->control().GetMetrics();
        if (balloon.ok()) counters.balloon = *std::move(balloon);
      }
      return counters;
    });
  }
  // The margin covers the calls' own timer, as in ListVms.
  auto answers = GatherWithin(std::move(calls), timeout + absl::Milliseconds(200));
  std::vector<api::VmMetrics> all;
  for (size_t i = 0; i < vms.size(); ++i) {
    std::optional<api::VmMetrics>& state = answers[2 * i];
    std::optional<api::VmMetrics>& counters = answers[2 * i + 1];
    api::VmMetrics metrics{state ? std::move(state->vm) : vms[i]->LastKnown(), std::nullopt};
    // Counters only for what the page shows as a running VM with a balloon.
    if (counters &&
        (metrics.vm.state() == v1::VM_STATE_RUNNING ||
         metrics.vm.state() == v1::VM_STATE_PAUSED) &&
        metrics.vm.config().has_balloon()) {
      metrics.balloon = std::move(counters->balloon);
    }
    all.push_back(std::move(metrics));
  }
  return all;
}

// A running VM's balloon call, after the edge checks.
#define BLIMP_VM(vm_id) \
  ASSIGN_OR_RETURN(std::shared_ptr<VmInstance> vm, supervisor_.Running(vm_id))

absl::Status DaemonApi::PutBalloon(const std::string& vm_id, const v1::Balloon& balloon) {
  RETURN_IF_ERROR(api::ValidateBalloon(balloon));
  BLIMP_VM(vm_id);
  return vm->control().PutBalloon(balloon);
}

absl::StatusOr<v1::Balloon> DaemonApi::GetBalloon(const std::string& vm_id) {
  BLIMP_VM(vm_id);
  return vm->control().GetBalloon();
}

absl::Status DaemonApi::PatchBalloon(const std::string& vm_id, const v1::BalloonUpdate& update) {
  RETURN_IF_ERROR(api::ValidateBalloonUpdate(update));
  BLIMP_VM(vm_id);
  RETURN_IF_ERROR(vm->BeforeBalloonTarget(update.amount_mib()));
  return vm->control().PatchBalloon(update);
}

absl::StatusOr<v1::BalloonStats> DaemonApi::GetBalloonStatistics(const std::string& vm_id) {
  BLIMP_VM(vm_id);
  return vm->control().GetStatistics();
}

absl::Status DaemonApi::PatchBalloonStatistics(const std::string& vm_id,
                                               const v1::BalloonStatsUpdate& update) {
  RETURN_IF_ERROR(api::ValidateBalloonStatsUpdate(update));
  BLIMP_VM(vm_id);
  return vm->control().PatchStatistics(update);
}

absl::Status DaemonApi::StartBalloonHinting(const std::string& vm_id,
                                            const v1::HintingStart& start) {
  BLIMP_VM(vm_id);
  return vm->control().StartHinting(start);
}

absl::StatusOr<v1::HintingStatus> DaemonApi::GetBalloonHintingStatus(const std::string& vm_id) {
  BLIMP_VM(vm_id);
  return vm->control().GetHintingStatus();
}

absl::Status DaemonApi::StopBalloonHinting(const std::string& vm_id) {
  BLIMP_VM(vm_id);
  return vm->control().StopHinting();
}

absl::StatusOr<v1::BalloonMetrics> DaemonApi::GetBalloonMetrics(const std::string& vm_id) {
  BLIMP_VM(vm_id);
  return vm->control().GetMetrics();
}

absl::StatusOr<StatsFanout::Handle> DaemonApi::WatchStatistics(const std::string& vm_id,
                                                               StatsFanout::Notify notify) {
  BLIMP_VM(vm_id);
  return stats_fanout_->Subscribe(
      vm_id, vm, [vm] { return vm->Watch(); }, std::move(notify));
}

#undef BLIMP_VM

}  // namespace blimp::daemon

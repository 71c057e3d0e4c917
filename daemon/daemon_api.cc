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

absl::Status DaemonApi::DeleteVm(const std::string& vm_id) { return supervisor_.DeleteVm(vm_id); }

absl::StatusOr<v1::Vm> DaemonApi::GetVm(const std::string& vm_id) {
  return supervisor_.GetVm(vm_id);
}

std::vector<v1::Vm> DaemonApi::ListVms() { return supervisor_.ListVms(); }

std::vector<api::VmMetrics> DaemonApi::CollectMetrics() {
  std::vector<api::VmMetrics> all;
  std::vector<std::function<absl::StatusOr<v1::BalloonMetrics>()>> calls;
  std::vector<size_t> asked;
  for (v1::Vm& vm : ListVms()) {
    if (vm.state() == v1::VM_STATE_RUNNING && vm.config().has_balloon()) {
      asked.push_back(all.size());
      calls.push_back([this, id = vm.vm_id()] { return GetBalloonMetrics(id); });
    }
    all.push_back(api::VmMetrics{std::move(vm), std::nullopt});
  }
  // Every VM at once, within the describe bound: a wedged VM is listed
  // without its counters instead of delaying the page.
  auto answers = GatherWithin(std::move(calls), supervisor_.options().describe_timeout);
  for (size_t i = 0; i < asked.size(); ++i) {
    if (answers[i] && answers[i]->ok()) all[asked[i]].balloon = **answers[i];
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

#include "vmm/control/vm_control.h"

#include "base/status_macros.h"

namespace blimp::vmm::control {
namespace {

blimp::v1::VmState ToState(VmStatus::Phase phase) {
  switch (phase) {
    case VmStatus::NOT_STARTED: return blimp::v1::VM_STATE_CREATED;
    case VmStatus::RUNNING: return blimp::v1::VM_STATE_RUNNING;
    case VmStatus::PAUSED: return blimp::v1::VM_STATE_PAUSED;
    case VmStatus::STOPPED: return blimp::v1::VM_STATE_STOPPED;
    case VmStatus::FAILED: return blimp::v1::VM_STATE_FAILED;
    default: return blimp::v1::VM_STATE_UNSPECIFIED;
  }
}

// A request with one op set by `set`.
template <typename Set>
Request Make(Set set) {
  Request request;
  set(request);
  return request;
}

}  // namespace

blimp::v1::Vm ToVm(const std::string& vm_id, const VmStatus& status) {
  blimp::v1::Vm vm;
  vm.set_vm_id(vm_id);
  vm.set_state(ToState(status.phase()));
  *vm.mutable_config() = status.config();
  vm.set_reason(status.reason());
  if (status.phase() == VmStatus::RUNNING || status.phase() == VmStatus::PAUSED) {
    vm.set_vmm_pid(status.pid());
  }
  if (status.has_balloon_target_mib()) vm.set_balloon_target_mib(status.balloon_target_mib());
  if (status.has_balloon_actual_mib()) vm.set_balloon_actual_mib(status.balloon_actual_mib());
  return vm;
}

absl::StatusOr<VmStatus> VmControl::Describe() {
  ASSIGN_OR_RETURN(Response response, transport_(Make([](Request& r) { r.mutable_describe(); })));
  return response.vm();
}

absl::Status VmControl::PutBootSource(const blimp::v1::BootSource& boot_source) {
  return transport_(Make([&](Request& r) { *r.mutable_put_boot_source() = boot_source; }))
      .status();
}

absl::Status VmControl::PutMachineConfig(const blimp::v1::MachineConfig& machine) {
  return transport_(Make([&](Request& r) { *r.mutable_put_machine_config() = machine; }))
      .status();
}

absl::StatusOr<VmStatus> VmControl::Start() {
  ASSIGN_OR_RETURN(Response response, transport_(Make([](Request& r) { r.mutable_start(); })));
  return response.vm();
}

absl::StatusOr<VmStatus> VmControl::Stop() {
  ASSIGN_OR_RETURN(Response response, transport_(Make([](Request& r) { r.mutable_stop(); })));
  return response.vm();
}

absl::StatusOr<VmStatus> VmControl::Pause() {
  ASSIGN_OR_RETURN(Response response, transport_(Make([](Request& r) { r.mutable_pause(); })));
  return response.vm();
}

absl::StatusOr<VmStatus> VmControl::Resume() {
  ASSIGN_OR_RETURN(Response response, transport_(Make([](Request& r) { r.mutable_resume(); })));
  return response.vm();
}

absl::StatusOr<blimp::v1::SnapshotInfo> VmControl::CreateSnapshot(
    const blimp::v1::SnapshotCreateParams& params) {
  ASSIGN_OR_RETURN(Response response,
                   transport_(Make([&](Request& r) { *r.mutable_create_snapshot() = params; })));
  return response.snapshot();
}

absl::StatusOr<VmStatus> VmControl::LoadSnapshot(const blimp::v1::SnapshotLoadParams& params) {
  ASSIGN_OR_RETURN(Response response,
                   transport_(Make([&](Request& r) { *r.mutable_load_snapshot() = params; })));
  return response.vm();
}

absl::Status VmControl::PutBalloon(const blimp::v1::Balloon& balloon) {
  return transport_(Make([&](Request& r) { *r.mutable_put_balloon() = balloon; })).status();
}

absl::StatusOr<blimp::v1::Balloon> VmControl::GetBalloon() {
  ASSIGN_OR_RETURN(Response response,
                   transport_(Make([](Request& r) { r.mutable_get_balloon(); })));
  return response.balloon();
}

absl::Status VmControl::PatchBalloon(const blimp::v1::BalloonUpdate& update) {
  return transport_(Make([&](Request& r) { *r.mutable_patch_balloon() = update; })).status();
}

absl::StatusOr<blimp::v1::BalloonStats> VmControl::GetStatistics() {
  ASSIGN_OR_RETURN(Response response,
                   transport_(Make([](Request& r) { r.mutable_get_statistics(); })));
  return response.stats();
}

absl::Status VmControl::PatchStatistics(const blimp::v1::BalloonStatsUpdate& update) {
  return transport_(Make([&](Request& r) { *r.mutable_patch_statistics() = update; }))
      .status();
}

absl::Status VmControl::StartHinting(const blimp::v1::HintingStart& start) {
  return transport_(Make([&](Request& r) { *r.mutable_start_hinting() = start; })).status();
}

absl::StatusOr<blimp::v1::HintingStatus> VmControl::GetHintingStatus() {
  ASSIGN_OR_RETURN(Response response,
                   transport_(Make([](Request& r) { r.mutable_get_hinting_status(); })));
  return response.hinting();
}

absl::Status VmControl::StopHinting() {
  return transport_(Make([](Request& r) { r.mutable_stop_hinting(); })).status();
}

absl::StatusOr<blimp::v1::BalloonMetrics> VmControl::GetMetrics() {
  ASSIGN_OR_RETURN(Response response,
                   transport_(Make([](Request& r) { r.mutable_get_metrics(); })));
  return response.metrics();
}

}  // namespace blimp::vmm::control

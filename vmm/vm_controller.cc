#include "vmm/vm_controller.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "device/virtio/balloon/balloon_defs.h"

namespace blimp::vmm {
namespace {

using device::virtio::balloon::kPagesPerMib;

absl::Status NotBeforeBoot() {
  return absl::FailedPreconditionError("operation not supported before starting the VM");
}

absl::Status NotAfterBoot() {
  return absl::FailedPreconditionError("operation not supported after starting the VM");
}

absl::Status TooLarge(uint32_t amount_mib, uint32_t mem_mib) {
  return absl::InvalidArgumentError(
      absl::StrCat("amount_mib ", amount_mib, " is too large: the balloon cannot exceed ",
                   "the guest memory of ", mem_mib, " MiB"));
}

}  // namespace

VmController::VmController(std::string id, PendingConfig initial, Launcher launcher)
    : id_(std::move(id)), launcher_(std::move(launcher)), config_(std::move(initial)) {}

VmPhase VmController::PhaseLocked() {
  if (vm_ == nullptr) return VmPhase::kNotStarted;
  if (vm_->exit_reason()) return VmPhase::kStopped;
  return paused_ ? VmPhase::kPaused : VmPhase::kRunning;
}

VmInfo VmController::Info() {
  absl::MutexLock lock(&mu_);
  return VmInfo{id_, PhaseLocked(), config_,
                vm_ ? vm_->exit_reason() : std::nullopt};
}

absl::Status VmController::PutBootSource(const BootSourceConfig& boot_source) {
  absl::MutexLock lock(&mu_);
  if (vm_) return NotAfterBoot();
  config_.boot_source = boot_source;
  return absl::OkStatus();
}

absl::Status VmController::PutMachineConfig(const MachineConfig& machine) {
  absl::MutexLock lock(&mu_);
  if (vm_) return NotAfterBoot();
  if (config_.balloon && config_.balloon->amount_mib > machine.mem_size_mib) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mem_size_mib ", machine.mem_size_mib, " is smaller than the balloon target of ",
        config_.balloon->amount_mib, " MiB"));
  }
  config_.machine = machine;
  return absl::OkStatus();
}

absl::Status VmController::Start() {
  absl::MutexLock lock(&mu_);
  if (vm_) return absl::FailedPreconditionError("the VM was already started");
  if (!config_.boot_source) {
    return absl::FailedPreconditionError(
        "cannot start a VM without a boot source (PUT /boot-source first)");
  }
  VmConfig config{*config_.boot_source, config_.machine, config_.balloon};
  ASSIGN_OR_RETURN(vm_, launcher_(config));
  return absl::OkStatus();
}

absl::Status VmController::Stop() {
  absl::MutexLock lock(&mu_);
  VmPhase phase = PhaseLocked();
  if (phase != VmPhase::kRunning && phase != VmPhase::kPaused) {
    return absl::FailedPreconditionError("the VM is not running");
  }
  vm_->RequestStop();
  return absl::OkStatus();
}

absl::Status VmController::Pause() {
  absl::MutexLock lock(&mu_);
  switch (PhaseLocked()) {
    case VmPhase::kNotStarted: return NotBeforeBoot();
    case VmPhase::kStopped: return absl::FailedPreconditionError("the VM has stopped");
    case VmPhase::kPaused: return absl::OkStatus();
    case VmPhase::kRunning: break;
  }
  RETURN_IF_ERROR(vm_->Pause());
  paused_ = true;
  return absl::OkStatus();
}

absl::Status VmController::Resume() {
  absl::MutexLock lock(&mu_);
  switch (PhaseLocked()) {
    case VmPhase::kNotStarted: return NotBeforeBoot();
    case VmPhase::kStopped: return absl::FailedPreconditionError("the VM has stopped");
    case VmPhase::kRunning: return absl::OkStatus();
    case VmPhase::kPaused: break;
  }
  vm_->Resume();
  paused_ = false;
  return absl::OkStatus();
}

absl::StatusOr<BalloonConfig*> VmController::BalloonLocked() {
  if (!config_.balloon) return absl::NotFoundError("balloon device not found: none is installed");
  return &*config_.balloon;
}

absl::StatusOr<RunningVm*> VmController::RunningBalloonLocked() {
  RETURN_IF_ERROR(BalloonLocked().status());
  switch (PhaseLocked()) {
    case VmPhase::kNotStarted: return NotBeforeBoot();
    case VmPhase::kStopped: return absl::FailedPreconditionError("the VM has stopped");
    case VmPhase::kRunning:
    case VmPhase::kPaused: return vm_.get();
  }
  return absl::InternalError("unknown phase");
}

absl::Status VmController::StatsEnabledLocked() {
  if (config_.balloon->stats_polling_interval_s == 0) {
    return absl::FailedPreconditionError(
        "balloon statistics are not enabled (stats_polling_interval_s was 0 at install)");
  }
  return absl::OkStatus();
}

absl::Status VmController::HintingEnabledLocked() {
  if (!config_.balloon->free_page_hinting) {
    return absl::FailedPreconditionError("free page hinting is not enabled on this balloon");
  }
  return absl::OkStatus();
}

absl::Status VmController::PutBalloon(const BalloonConfig& balloon) {
  absl::MutexLock lock(&mu_);
  if (vm_) return NotAfterBoot();
  if (balloon.amount_mib > config_.machine.mem_size_mib) {
    return TooLarge(balloon.amount_mib, config_.machine.mem_size_mib);
  }
  config_.balloon = balloon;
  return absl::OkStatus();
}

absl::StatusOr<BalloonConfig> VmController::GetBalloon() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(BalloonConfig * balloon, BalloonLocked());
  BalloonConfig result = *balloon;
  if (VmPhase phase = PhaseLocked(); phase == VmPhase::kRunning || phase == VmPhase::kPaused) {
    result.amount_mib = vm_->GetBalloon().target_pages / kPagesPerMib;
  }
  return result;
}

absl::Status VmController::PatchBalloon(uint32_t amount_mib) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(RunningVm * vm, RunningBalloonLocked());
  if (amount_mib > config_.machine.mem_size_mib) {
    return TooLarge(amount_mib, config_.machine.mem_size_mib);
  }
  vm->SetBalloonTarget(amount_mib * kPagesPerMib);
  config_.balloon->amount_mib = amount_mib;
  return absl::OkStatus();
}

absl::StatusOr<BalloonSnapshot> VmController::GetBalloonStatistics() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(RunningVm * vm, RunningBalloonLocked());
  RETURN_IF_ERROR(StatsEnabledLocked());
  return vm->GetBalloon();
}

absl::StatusOr<RunningVm*> VmController::StatsSource() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(RunningVm * vm, RunningBalloonLocked());
  RETURN_IF_ERROR(StatsEnabledLocked());
  return vm;
}

absl::Status VmController::PatchBalloonStatistics(uint32_t interval_s) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(RunningVm * vm, RunningBalloonLocked());
  RETURN_IF_ERROR(StatsEnabledLocked());
  uint32_t& current = config_.balloon->stats_polling_interval_s;
  if (interval_s == 0) {
    return absl::FailedPreconditionError(
        "balloon statistics cannot be disabled after boot (stats_polling_interval_s 0)");
  }
  if (interval_s == current) return absl::OkStatus();
  vm->SetStatsInterval(interval_s);
  current = interval_s;
  return absl::OkStatus();
}

absl::Status VmController::StartHinting(bool acknowledge_on_stop) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(RunningVm * vm, RunningBalloonLocked());
  RETURN_IF_ERROR(HintingEnabledLocked());
  vm->StartHinting(acknowledge_on_stop);
  return absl::OkStatus();
}

absl::StatusOr<device::virtio::balloon::HintingState> VmController::GetHintingStatus() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(RunningVm * vm, RunningBalloonLocked());
  RETURN_IF_ERROR(HintingEnabledLocked());
  return vm->GetBalloon().hinting;
}

absl::Status VmController::StopHinting() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(RunningVm * vm, RunningBalloonLocked());
  RETURN_IF_ERROR(HintingEnabledLocked());
  vm->StopHinting();
  return absl::OkStatus();
}

absl::StatusOr<BalloonSnapshot> VmController::GetBalloonMetrics() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(RunningVm * vm, RunningBalloonLocked());
  return vm->GetBalloon();
}

}  // namespace blimp::vmm

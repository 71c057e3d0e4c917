#include "vmm/vm_controller.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "api/snapshot_params.h"
#include "base/status_macros.h"
#include "base/errno_status.h"
#include "base/unique_fd.h"
#include "device/virtio/balloon/balloon_defs.h"
#include "vmm/config_file.h"
#include "vmm/snapshot/snapshot_file.h"

namespace blimp::vmm {
namespace {

using device::virtio::balloon::kPagesPerMib;

absl::Status NotBeforeBoot() {
  return absl::FailedPreconditionError("operation not supported before starting the VM");
}

absl::Status NotAfterBoot() {
  return absl::FailedPreconditionError("operation not supported after starting the VM");
}

absl::Status CheckSnapshotPaths(const SnapshotPaths& paths) {
  return api::CheckSnapshotFiles({paths.state_path, paths.memory_path});
}

// A path the client gave that cannot be opened is bad input (400), never
// "no such VM" (404).
absl::Status PathError(absl::Status status) {
  if (status.ok() || status.code() == absl::StatusCode::kInvalidArgument) return status;
  return absl::InvalidArgumentError(status.message());
}

// A file this call creates (never an existing one), removed again unless
// kept.
class NewFile {
 public:
  static absl::StatusOr<NewFile> Create(const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == EEXIST) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", path, "' exists; a snapshot never replaces a file"));
      }
      return PathError(base::ErrnoStatus(absl::StrCat("create '", path, "'")));
    }
    return NewFile(path, base::UniqueFd(fd));
  }
  NewFile(NewFile&&) = default;
  ~NewFile() {
    if (fd_.valid() && !kept_) ::unlink(path_.c_str());
  }
  int fd() const { return fd_.get(); }
  void Keep() { kept_ = true; }

 private:
  NewFile(std::string path, base::UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  base::UniqueFd fd_;
  bool kept_ = false;
};

absl::Status TooLarge(uint32_t amount_mib, uint32_t mem_mib) {
  return absl::InvalidArgumentError(
      absl::StrCat("amount_mib ", amount_mib, " is too large: the balloon cannot exceed ",
                   "the guest memory of ", mem_mib, " MiB"));
}

}  // namespace

VmController::VmController(std::string id, PendingConfig initial, Launcher launcher,
                           Restorer restorer)
    : id_(std::move(id)),
      launcher_(std::move(launcher)),
      restorer_(std::move(restorer)),
      config_(std::move(initial)) {}

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

absl::StatusOr<SnapshotResult> VmController::CreateSnapshot(const SnapshotPaths& paths) {
  absl::MutexLock lock(&mu_);
  switch (PhaseLocked()) {
    case VmPhase::kNotStarted: return NotBeforeBoot();
    case VmPhase::kStopped: return absl::FailedPreconditionError("the VM has stopped");
    case VmPhase::kRunning:
      return absl::FailedPreconditionError(
          "the VM must be paused for a snapshot (PATCH /vm {\"state\": \"Paused\"})");
    case VmPhase::kPaused: break;
  }
  RETURN_IF_ERROR(CheckSnapshotPaths(paths));
  ASSIGN_OR_RETURN(NewFile memory_file, NewFile::Create(paths.memory_path));
  ASSIGN_OR_RETURN(NewFile state_file, NewFile::Create(paths.state_path));
  VmConfig config{*config_.boot_source, config_.machine, config_.balloon};
  ASSIGN_OR_RETURN(SnapshotResult result,
                   vm_->Snapshot(config, state_file.fd(), memory_file.fd()));
  memory_file.Keep();
  state_file.Keep();
  return result;
}

absl::Status VmController::LoadSnapshot(const SnapshotPaths& paths, bool resume) {
  absl::MutexLock lock(&mu_);
  if (vm_) return absl::FailedPreconditionError("a snapshot can only be loaded before boot");
  if (!restorer_) return absl::UnimplementedError("this VMM cannot load snapshots");
  RETURN_IF_ERROR(CheckSnapshotPaths(paths));
  absl::StatusOr<snapshot::VmState> read = snapshot::ReadSnapshot(paths.state_path);
  if (!read.ok()) return PathError(read.status());
  const snapshot::VmState& state = *read;
  ASSIGN_OR_RETURN(VmConfig config, FromProto(state.config()));
  base::UniqueFd memory(::open(paths.memory_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!memory.valid()) {
    return PathError(base::ErrnoStatus(absl::StrCat("open memory file '", paths.memory_path, "'")));
  }
  ASSIGN_OR_RETURN(vm_, restorer_(config, state, memory.get(), resume));
  config_ = {config.boot_source, config.machine, config.balloon};
  paused_ = !resume;
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

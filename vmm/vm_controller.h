// VmController: one microVM's lifecycle and the balloon contract's stateful
// rules (before/after boot, limits, statistics and hinting enablement). The
// control handler (blimpd over the control socket, and REST on --api-sock)
// calls it, so every rule lives here once. Errors: InvalidArgument for bad
// values, FailedPrecondition for the wrong state, NotFound for a VM without a
// balloon. A refused call changes nothing.
#ifndef BLIMP_VMM_VM_CONTROLLER_H_
#define BLIMP_VMM_VM_CONTROLLER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "vmm/running_vm.h"
#include "vmm/snapshot/snapshot.pb.h"
#include "vmm/vm_config.h"

namespace blimp::vmm {

enum class VmPhase { kNotStarted, kRunning, kPaused, kStopped };

// Pre-boot configuration: pieces arrive one by one (PUT /boot-source, ...).
struct PendingConfig {
  std::optional<BootSourceConfig> boot_source;
  MachineConfig machine;  // Firecracker's defaults until set.
  std::optional<BalloonConfig> balloon;
};

// A snapshot's two files (vmm/snapshot): its state and guest RAM.
struct SnapshotPaths {
  std::string state_path;
  std::string memory_path;
};

struct VmInfo {
  std::string id;
  VmPhase phase;
  PendingConfig config;
  std::optional<ExitReason> exit_reason;
};

class VmController {
 public:
  // Boots a VM from a complete config.
  using Launcher =
      std::function<absl::StatusOr<std::unique_ptr<RunningVm>>(const VmConfig&)>;

  // Builds the VM of a snapshot (state read and checked, `memory_file` its
  // RAM), paused unless `resume`.
  using Restorer = std::function<absl::StatusOr<std::unique_ptr<RunningVm>>(
      const VmConfig&, const snapshot::VmState&, int memory_file, bool resume)>;

  // Without a `restorer`, loading a snapshot is refused.
  VmController(std::string id, PendingConfig initial, Launcher launcher,
               Restorer restorer = nullptr);

  const std::string& id() const { return id_; }
  VmInfo Info();

  absl::Status PutBootSource(const BootSourceConfig& boot_source);
  absl::Status PutMachineConfig(const MachineConfig& machine);
  absl::Status Start();
  absl::Status Stop();
  // Firecracker's PATCH /vm: both are idempotent, and refused unless the VM
  // runs or is paused. A paused VM can still be stopped, and its balloon
  // takes every call: a new target or statistics interval is applied by the
  // guest once it resumes; statistics are the last the guest sent.
  absl::Status Pause();
  absl::Status Resume();

  // Firecracker's PUT /snapshot/create on a paused VM. Both paths must be
  // absolute, distinct and not exist yet; on any failure neither file is
  // left behind.
  absl::StatusOr<SnapshotResult> CreateSnapshot(const SnapshotPaths& paths);
  // PUT /snapshot/load, before the VM is started: the snapshot's machine
  // replaces the pending config. A refused snapshot changes nothing.
  absl::Status LoadSnapshot(const SnapshotPaths& paths, bool resume);

  absl::Status PutBalloon(const BalloonConfig& balloon);
  // The balloon's configuration with amount_mib = the current target.
  absl::StatusOr<BalloonConfig> GetBalloon();
  absl::Status PatchBalloon(uint32_t amount_mib);
  absl::StatusOr<BalloonSnapshot> GetBalloonStatistics();
  absl::Status PatchBalloonStatistics(uint32_t stats_polling_interval_s);
  absl::Status StartHinting(bool acknowledge_on_stop);
  absl::StatusOr<device::virtio::balloon::HintingState> GetHintingStatus();
  absl::Status StopHinting();
  // The balloon's counters (any time after boot).
  absl::StatusOr<BalloonSnapshot> GetBalloonMetrics();

  // The running VM for statistics watchers (nullptr before boot/after stop).
  // Checked like GetBalloonStatistics.
  absl::StatusOr<RunningVm*> StatsSource();

 private:
  VmPhase PhaseLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The balloon, or NotFound.
  absl::StatusOr<BalloonConfig*> BalloonLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // NotFound without a balloon, FailedPrecondition unless running.
  absl::StatusOr<RunningVm*> RunningBalloonLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status StatsEnabledLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status HintingEnabledLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string id_;
  const Launcher launcher_;
  const Restorer restorer_;
  absl::Mutex mu_;
  PendingConfig config_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<RunningVm> vm_ ABSL_GUARDED_BY(mu_);
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace blimp::vmm

#endif  // BLIMP_VMM_VM_CONTROLLER_H_

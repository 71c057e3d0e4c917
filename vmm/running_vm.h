// RunningVm: what the control plane needs from a booted microVM. vm.h
// implements it with KVM; tests implement it with a fake.
#ifndef BLIMP_VMM_RUNNING_VM_H_
#define BLIMP_VMM_RUNNING_VM_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "device/virtio/balloon/balloon.h"
#include "vmm/exit_reason.h"
#include "vmm/vm_config.h"

namespace blimp::vmm {

// A consistent copy of the balloon's state.
struct BalloonSnapshot {
  uint32_t target_pages = 0;
  uint32_t actual_pages = 0;
  device::virtio::balloon::BalloonStatValues stats;
  device::virtio::balloon::BalloonMetrics metrics;
  device::virtio::balloon::HintingState hinting;
  // Bumped on every statistics update from the guest.
  uint64_t stats_generation = 0;
  // Guest RAM in this process: (host address, bytes) per region, for
  // blimpd's count of its resident pages.
  std::vector<std::pair<uint64_t, uint64_t>> guest_ram;
};

struct SnapshotResult {
  uint64_t memory_bytes = 0;          // Guest RAM: the memory file's size.
  uint64_t memory_written_bytes = 0;  // What the memory file holds; the rest are holes.
};

class RunningVm {
 public:
  virtual ~RunningVm() = default;

  // The balloon (callers check that the VM has one).
  virtual void SetBalloonTarget(uint32_t pages) = 0;
  virtual BalloonSnapshot GetBalloon() = 0;
  // Re-arms the statistics timer and asks the guest for fresh statistics now.
  virtual void SetStatsInterval(uint32_t seconds) = 0;
  virtual void StartHinting(bool acknowledge_on_stop) = 0;
  virtual void StopHinting() = 0;
  // Blocks until the statistics generation differs from `seen` or `timeout`
  // passes; returns the current generation.
  virtual uint64_t WaitForStats(uint64_t seen, absl::Duration timeout) = 0;

  // Pause() returns once no vCPU runs guest code (an error if one did not
  // stop in time; the VM then runs on). Resume() lets them run again. The
  // devices keep serving: a balloon target set while paused reaches the
  // guest when it runs again.
  virtual absl::Status Pause() = 0;
  virtual void Resume() = 0;

  // Writes a snapshot of the paused VM (vmm/snapshot): its state, with
  // `config` as the machine it runs, into `state_fd` and its RAM into
  // `memory_fd` (both new, empty files). FailedPrecondition unless paused.
  virtual absl::StatusOr<SnapshotResult> Snapshot(const VmConfig& config, int state_fd,
                                                  int memory_fd) = 0;

  // Asks the VM to stop; Wait() returns once it has.
  virtual void RequestStop() = 0;
  // The exit reason once the VM has stopped, nullopt while it runs.
  virtual std::optional<ExitReason> exit_reason() = 0;
};

}  // namespace blimp::vmm

#endif  // BLIMP_VMM_RUNNING_VM_H_

// Vm: one running microVM on KVM. Builds the machine from a VmConfig (guest
// RAM, in-kernel irqchip and PIT, serial console, power-off/reset ports, the
// virtio-mmio balloon), loads the kernel, and runs one thread per vCPU plus
// an event-loop thread (console input, inflate/deflate notifications, the
// statistics timer). Stops on guest power-off/reset, a host request or a
// fatal error, with no thread left behind.
#ifndef BLIMP_VMM_VM_H_
#define BLIMP_VMM_VM_H_

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/event_fd.h"
#include "base/event_loop.h"
#include "base/timer_fd.h"
#include "device/bus.h"
#include "device/serial.h"
#include "device/virtio/balloon/balloon.h"
#include "device/virtio/mmio_transport.h"
#include "kvm/kvm.h"
#include "kvm/vm.h"
#include "memory/guest_memory.h"
#include "vmm/irqfd_line.h"
#include "arch/x86_64/boot.h"
#include "vmm/running_vm.h"
#include "vmm/snapshot/snapshot.pb.h"
#include "vmm/vcpu_runner.h"
#include "vmm/vm_config.h"

namespace blimp::vmm {

struct VmOptions {
  // Console: guest serial output goes to console_out_fd; console_in_fd (if
  // >= 0) is read as serial input.
  int console_in_fd = -1;
  int console_out_fd = 1;
  // Guest RAM on the host's transparent huge pages (memory/guest_memory.h).
  bool guest_ram_thp = true;
};

class Vm : public RunningVm {
 public:
  // Builds the VM and starts its threads.
  static absl::StatusOr<std::unique_ptr<Vm>> Launch(const VmConfig& config,
                                                    const VmOptions& options);
  // Builds the VM of a snapshot: RAM mapped privately from `memory_file`,
  // the saved vCPU, irqchip and device state; then starts its threads,
  // paused unless `resume`. `config` is the snapshot's.
  static absl::StatusOr<std::unique_ptr<Vm>> Restore(const VmConfig& config,
                                                     const VmOptions& options,
                                                     const snapshot::VmState& state,
                                                     int memory_file, bool resume);
  ~Vm() override;

  // Blocks until the VM has stopped and every thread has finished.
  ExitReason Wait();

  // RunningVm.
  void SetBalloonTarget(uint32_t pages) override;
  BalloonSnapshot GetBalloon() override;
  void SetStatsInterval(uint32_t seconds) override;
  void StartHinting(bool acknowledge_on_stop) override;
  void StopHinting() override;
  uint64_t WaitForStats(uint64_t seen, absl::Duration timeout) override;
  absl::Status Pause() override;
  void Resume() override;
  absl::StatusOr<SnapshotResult> Snapshot(const VmConfig& config, int state_fd,
                                          int memory_fd) override;
  void RequestStop() override { RequestExit(ExitReason::kStopped); }
  std::optional<ExitReason> exit_reason() override;

  const memory::GuestMemory& memory() const { return memory_; }

 private:
  Vm(kvm::Vm kvm_vm, memory::GuestMemory memory, std::unique_ptr<base::EventLoop> loop,
     const VmConfig& config, const VmOptions& options);

  // The machine without its vCPUs: RAM (from `memory_file` if >= 0), the
  // irqchip, PIT and devices.
  static absl::StatusOr<std::unique_ptr<Vm>> Build(const kvm::Kvm& kvm, const VmConfig& config,
                                                   const VmOptions& options, int memory_file);
  absl::Status SetUpMemory();
  absl::Status SetUpDevices();
  absl::Status SetUpBalloon();
  absl::Status SetUpConsoleInput();
  arch::x86_64::BootConfig BootConfigFor();
  absl::Status SetUpVcpus(const kvm::Kvm& kvm);
  absl::Status RestoreVcpus(const kvm::Kvm& kvm, const snapshot::VmState& state);
  absl::Status RestoreDevices(const snapshot::VmState& state);
  void Start();
  void RequestExit(ExitReason reason);
  void WithBalloon(const std::function<void(device::virtio::balloon::Balloon&)>& fn);

  const VmConfig config_;
  const VmOptions options_;
  kvm::Vm kvm_vm_;
  memory::GuestMemory memory_;
  std::unique_ptr<base::EventLoop> loop_;
  device::Bus pio_bus_;
  device::Bus mmio_bus_;
  std::unique_ptr<IrqfdLine> serial_irq_;
  std::shared_ptr<device::Serial> serial_;
  std::unique_ptr<IrqfdLine> balloon_irq_;
  std::shared_ptr<device::virtio::MmioTransport> balloon_transport_;
  device::virtio::balloon::Balloon* balloon_ = nullptr;  // Owned by the transport.
  std::vector<base::EventFd> queue_notifiers_;
  std::optional<base::TimerFd> stats_timer_;
  std::vector<std::unique_ptr<VcpuRunner>> vcpus_;
  std::thread loop_thread_;
  std::atomic<bool> stopping_{false};
  // Set while every vCPU is parked (Pause until Resume): the event loop then
  // leaves guest memory alone (no statistics request).
  std::atomic<bool> paused_{false};
  std::vector<uint32_t> msr_indices_;  // KVM_GET_MSR_INDEX_LIST, for snapshots.

  absl::Mutex exit_mu_;
  std::optional<ExitReason> exit_reason_ ABSL_GUARDED_BY(exit_mu_);
  bool joined_ ABSL_GUARDED_BY(exit_mu_) = false;

  absl::Mutex stats_mu_;
  uint64_t stats_generation_ ABSL_GUARDED_BY(stats_mu_) = 0;
};

}  // namespace blimp::vmm

#endif  // BLIMP_VMM_VM_H_

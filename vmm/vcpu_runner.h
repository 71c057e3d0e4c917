// VcpuRunner: one thread per vCPU running KVM_RUN and dispatching its exits:
// port and MMIO accesses to the buses, power events to the exit request.
// Anything the guest does wrong is logged and counted; only what cannot go
// on (an instruction KVM cannot emulate, a triple fault) ends the VM.
#ifndef BLIMP_VMM_VCPU_RUNNER_H_
#define BLIMP_VMM_VCPU_RUNNER_H_

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "device/bus.h"
#include "kvm/vcpu.h"
#include "memory/guest_memory.h"
#include "vmm/power_devices.h"

namespace blimp::vmm {

struct VcpuCounters {
  std::atomic<uint64_t> exits{0};
  std::atomic<uint64_t> unhandled_pio{0};
  std::atomic<uint64_t> unhandled_mmio{0};
  // Instructions KVM could not emulate that blimp-vmm completed instead.
  std::atomic<uint64_t> emulated{0};
  // The same per instruction (indexed by arch::x86_64::insn::Op); the first
  // few of each kind are logged.
  std::atomic<uint64_t> emulated_by_op[16] = {};
};

class VcpuRunner {
 public:
  VcpuRunner(kvm::Vcpu vcpu, const device::Bus& pio, const device::Bus& mmio,
             const memory::GuestMemory& memory, ExitRequest exit_request,
             const std::atomic<bool>& stopping);
  ~VcpuRunner();

  void Start();
  // Makes KVM_RUN return (and the thread finish, once `stopping` is set).
  void Kick();
  void Join();

  // Pausing: RequestPark() asks the thread to wait outside KVM_RUN;
  // WaitParked() interrupts KVM_RUN until it does (false if it did not by
  // `deadline`, or the thread has ended). A parked vCPU has no port or MMIO
  // access half done, so its registers can be read and written.
  // Unpark() lets it run again.
  void RequestPark();
  bool WaitParked(absl::Time deadline);
  void Unpark();

  kvm::Vcpu& vcpu() { return vcpu_; }

  const VcpuCounters& counters() const { return counters_; }

 private:
  void Loop();
  // Waits while a park is requested (and the VM is not stopping).
  void ParkIfRequested();
  // Returns false when the vCPU must stop.
  bool HandleExit(const kvm::VcpuExit& exit);
  void HandlePio(const kvm::VcpuExit& exit);
  void HandleMmio(const kvm::VcpuExit& exit);
  void ReportInternalError(const kvm::VcpuExit& exit);
  // On an emulation failure: completes the instruction in user space if
  // arch/x86_64/insn knows it (int3 -> #BP, cmpxchg8b/16b). False (and the
  // vCPU untouched) otherwise; `why` says why.
  bool CompleteInstruction(std::string* why);

  kvm::Vcpu vcpu_;
  const device::Bus& pio_;
  const device::Bus& mmio_;
  const memory::GuestMemory& memory_;
  ExitRequest exit_request_;
  const std::atomic<bool>& stopping_;
  VcpuCounters counters_;
  std::thread thread_;
  std::atomic<pthread_t> native_{};
  std::atomic<bool> running_{false};

  absl::Mutex park_mu_;
  bool park_requested_ ABSL_GUARDED_BY(park_mu_) = false;
  bool parked_ ABSL_GUARDED_BY(park_mu_) = false;
  bool ended_ ABSL_GUARDED_BY(park_mu_) = false;
  std::atomic<bool> park_flag_{false};  // park_requested_, read without the lock.
};

// Installs the (empty) signal handler that interrupts KVM_RUN on Kick().
void InstallKickSignalHandler();

}  // namespace blimp::vmm

#endif  // BLIMP_VMM_VCPU_RUNNER_H_

// Vcpu: a KVM vCPU fd and its mmapped struct kvm_run. Methods map 1:1 to the
// vCPU ioctls; Run() decodes the exit into a VcpuExit.
#ifndef BLIMP_KVM_VCPU_H_
#define BLIMP_KVM_VCPU_H_

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/unique_fd.h"
#include "kvm/vcpu_exit.h"

namespace blimp::kvm {

// struct kvm_xsave as the kernel's C ABI has it (4096 bytes): in C++ the
// uapi struct's flexible array makes it 4100 bytes and unfit for StatusOr.
struct XsaveArea {
  uint32_t region[1024];
};

class Vcpu {
 public:
  Vcpu(Vcpu&&) = default;
  Vcpu& operator=(Vcpu&&) = default;

  uint32_t id() const { return id_; }

  absl::StatusOr<kvm_regs> GetRegs() const;                 // KVM_GET_REGS
  absl::Status SetRegs(const kvm_regs& regs);               // KVM_SET_REGS
  absl::StatusOr<kvm_sregs> GetSregs() const;               // KVM_GET_SREGS
  absl::Status SetSregs(const kvm_sregs& sregs);            // KVM_SET_SREGS
  absl::StatusOr<kvm_fpu> GetFpu() const;                   // KVM_GET_FPU
  absl::Status SetFpu(const kvm_fpu& fpu);                  // KVM_SET_FPU
  // KVM_SET_CPUID2.
  absl::Status SetCpuid2(const std::vector<kvm_cpuid_entry2>& entries);
  // KVM_SET_MSRS; an error if KVM set fewer MSRs than given (it names the
  // first one refused).
  absl::Status SetMsrs(const std::vector<kvm_msr_entry>& msrs);
  // KVM_GET_MSRS for `indices`; an error if KVM read fewer than asked.
  absl::StatusOr<std::vector<kvm_msr_entry>> GetMsrs(
      const std::vector<uint32_t>& indices) const;
  absl::StatusOr<kvm_lapic_state> GetLapic() const;         // KVM_GET_LAPIC
  absl::Status SetLapic(const kvm_lapic_state& lapic);      // KVM_SET_LAPIC
  absl::StatusOr<kvm_mp_state> GetMpState() const;          // KVM_GET_MP_STATE
  absl::Status SetMpState(const kvm_mp_state& state);       // KVM_SET_MP_STATE
  absl::StatusOr<XsaveArea> GetXsave() const;              // KVM_GET_XSAVE
  absl::Status SetXsave(const XsaveArea& xsave);            // KVM_SET_XSAVE
  absl::StatusOr<kvm_xcrs> GetXcrs() const;                 // KVM_GET_XCRS
  absl::Status SetXcrs(const kvm_xcrs& xcrs);               // KVM_SET_XCRS
  absl::StatusOr<kvm_debugregs> GetDebugregs() const;       // KVM_GET_DEBUGREGS
  absl::Status SetDebugregs(const kvm_debugregs& regs);     // KVM_SET_DEBUGREGS
  // KVM_GET_MSRS that keeps what KVM read: the entries before the first MSR
  // it refused (all of them when none was).
  absl::StatusOr<std::vector<kvm_msr_entry>> GetMsrsPrefix(
      const std::vector<uint32_t>& indices) const;
  absl::StatusOr<kvm_vcpu_events> GetVcpuEvents() const;    // KVM_GET_VCPU_EVENTS
  absl::Status SetVcpuEvents(const kvm_vcpu_events& events);  // KVM_SET_VCPU_EVENTS

  // KVM_RUN, decoded. EINTR (a signal, or immediate_exit) and EAGAIN (an AP
  // that just received its SIPI) are not errors: they come back as
  // Kind::kInterrupted. The returned exit's `data` points
  // into kvm_run and must be handled before the next Run(); what the caller
  // writes into it for kIoIn / kMmioRead is what the guest reads.
  absl::StatusOr<VcpuExit> Run();

  // Sets kvm_run->immediate_exit, so that KVM_RUN returns EINTR at once
  // instead of entering the guest. Safe to call from another thread while
  // Run() is in progress (pair it with a signal to that thread to interrupt
  // a KVM_RUN already inside the guest).
  void SetImmediateExit(bool value);

 private:
  friend class Vm;

  // The mmapped kvm_run, unmapped on destruction.
  class RunMapping {
   public:
    RunMapping(kvm_run* run, size_t size) : run_(run), size_(size) {}
    RunMapping(RunMapping&& other) noexcept;
    RunMapping& operator=(RunMapping&& other) noexcept;
    RunMapping(const RunMapping&) = delete;
    RunMapping& operator=(const RunMapping&) = delete;
    ~RunMapping();

    kvm_run* get() const { return run_; }
    size_t size() const { return size_; }

   private:
    void Unmap();
    kvm_run* run_ = nullptr;
    size_t size_ = 0;
  };

  // Called by Vm::CreateVcpu with the fd from KVM_CREATE_VCPU.
  static absl::StatusOr<Vcpu> Create(base::UniqueFd fd, uint32_t id,
                                     int mmap_size);
  Vcpu(base::UniqueFd fd, RunMapping run, uint32_t id)
      : fd_(std::move(fd)), run_(std::move(run)), id_(id) {}

  absl::StatusOr<VcpuExit> DecodeExit() const;

  base::UniqueFd fd_;
  RunMapping run_;
  uint32_t id_;
};

}  // namespace blimp::kvm

#endif  // BLIMP_KVM_VCPU_H_

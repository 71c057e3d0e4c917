// Vm: a KVM VM fd (from Kvm::CreateVm). Methods map 1:1 to the VM ioctls.
#ifndef BLIMP_KVM_VM_H_
#define BLIMP_KVM_VM_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/unique_fd.h"
#include "kvm/vcpu.h"

namespace blimp::kvm {

class Vm {
 public:
  Vm(Vm&&) = default;
  Vm& operator=(Vm&&) = default;

  // KVM_SET_USER_MEMORY_REGION: guest [guest_phys_addr, +size) is backed by
  // host [host_addr, +size). The caller keeps the host mapping alive for as
  // long as the slot exists (size 0 deletes the slot).
  absl::Status SetUserMemoryRegion(uint32_t slot, uint64_t guest_phys_addr,
                                   uint64_t size, void* host_addr,
                                   uint32_t flags = 0);
  absl::Status SetTssAddr(uint64_t addr);          // KVM_SET_TSS_ADDR
  absl::Status SetIdentityMapAddr(uint64_t addr);  // KVM_SET_IDENTITY_MAP_ADDR
  absl::Status CreateIrqchip();                    // KVM_CREATE_IRQCHIP
  absl::Status CreatePit2(uint32_t flags);         // KVM_CREATE_PIT2
  absl::Status SetIrqLine(uint32_t irq, bool level);  // KVM_IRQ_LINE
  // The in-kernel irqchip's chips (KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE,
  // _IOAPIC), PIT and clock, for snapshots.
  absl::StatusOr<kvm_irqchip> GetIrqchip(uint32_t chip_id) const;  // KVM_GET_IRQCHIP
  absl::Status SetIrqchip(const kvm_irqchip& chip);                // KVM_SET_IRQCHIP
  absl::StatusOr<kvm_pit_state2> GetPit2() const;                  // KVM_GET_PIT2
  absl::Status SetPit2(const kvm_pit_state2& pit);                 // KVM_SET_PIT2
  absl::StatusOr<kvm_clock_data> GetClock() const;                 // KVM_GET_CLOCK
  absl::Status SetClock(const kvm_clock_data& clock);              // KVM_SET_CLOCK
  // KVM_GET_TSC_KHZ on the VM (Linux 6.0+): the TSC rate new vCPUs get.
  absl::StatusOr<uint32_t> GetTscKhz() const;
  // KVM_IRQFD: a write to `eventfd` injects `gsi`.
  absl::Status RegisterIrqfd(int eventfd, uint32_t gsi);
  absl::Status UnregisterIrqfd(int eventfd, uint32_t gsi);
  // KVM_IOEVENTFD: a guest write of `len` bytes (0 = any length) to `addr`
  // (port if !mmio), equal to `datamatch` if given, signals `eventfd` instead
  // of exiting to user space.
  absl::Status RegisterIoeventfd(int eventfd, uint64_t addr, uint32_t len,
                                 bool mmio, std::optional<uint64_t> datamatch);
  absl::Status UnregisterIoeventfd(int eventfd, uint64_t addr, uint32_t len,
                                   bool mmio,
                                   std::optional<uint64_t> datamatch);
  // KVM_CREATE_VCPU, then mmaps its kvm_run (`mmap_size` from
  // Kvm::GetVcpuMmapSize()).
  absl::StatusOr<Vcpu> CreateVcpu(uint32_t id, int mmap_size);

 private:
  friend class Kvm;
  explicit Vm(base::UniqueFd fd) : fd_(std::move(fd)) {}

  absl::Status Ioeventfd(int eventfd, uint64_t addr, uint32_t len, bool mmio,
                         std::optional<uint64_t> datamatch, bool deassign);

  base::UniqueFd fd_;
};

}  // namespace blimp::kvm

#endif  // BLIMP_KVM_VM_H_

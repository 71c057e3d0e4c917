#include "kvm/vm.h"

#include <linux/kvm.h>

#include <cstdint>

#include "base/status_macros.h"
#include "kvm/ioctl.h"

namespace blimp::kvm {

using internal::IoctlPtr;
using internal::IoctlValue;

absl::Status Vm::SetUserMemoryRegion(uint32_t slot, uint64_t guest_phys_addr,
                                     uint64_t size, void* host_addr,
                                     uint32_t flags) {
  kvm_userspace_memory_region region{};
  region.slot = slot;
  region.flags = flags;
  region.guest_phys_addr = guest_phys_addr;
  region.memory_size = size;
  // SAFETY: the integer KVM wants for the host address; the caller keeps
  // that mapping alive while the slot exists (see the header).
  region.userspace_addr = reinterpret_cast<uintptr_t>(host_addr);
  // SAFETY: KVM_SET_USER_MEMORY_REGION reads a kvm_userspace_memory_region.
  return IoctlPtr(fd_, KVM_SET_USER_MEMORY_REGION,
                  "KVM_SET_USER_MEMORY_REGION", &region)
      .status();
}

absl::Status Vm::SetTssAddr(uint64_t addr) {
  return IoctlValue(fd_, KVM_SET_TSS_ADDR, "KVM_SET_TSS_ADDR", addr).status();
}

absl::StatusOr<uint32_t> Vm::GetTscKhz() const {
  ASSIGN_OR_RETURN(int khz, IoctlValue(fd_, KVM_GET_TSC_KHZ, "KVM_GET_TSC_KHZ", 0));
  return static_cast<uint32_t>(khz);
}

absl::Status Vm::SetIdentityMapAddr(uint64_t addr) {
  // SAFETY: KVM_SET_IDENTITY_MAP_ADDR reads a __u64.
  return IoctlPtr(fd_, KVM_SET_IDENTITY_MAP_ADDR, "KVM_SET_IDENTITY_MAP_ADDR",
                  &addr)
      .status();
}

absl::Status Vm::CreateIrqchip() {
  return IoctlValue(fd_, KVM_CREATE_IRQCHIP, "KVM_CREATE_IRQCHIP").status();
}

absl::Status Vm::CreatePit2(uint32_t flags) {
  kvm_pit_config config{};
  config.flags = flags;
  // SAFETY: KVM_CREATE_PIT2 reads a kvm_pit_config.
  return IoctlPtr(fd_, KVM_CREATE_PIT2, "KVM_CREATE_PIT2", &config).status();
}

absl::StatusOr<kvm_irqchip> Vm::GetIrqchip(uint32_t chip_id) const {
  kvm_irqchip chip{};
  chip.chip_id = chip_id;
  // SAFETY: KVM_GET_IRQCHIP fills the kvm_irqchip named by chip_id.
  RETURN_IF_ERROR(IoctlPtr(fd_, KVM_GET_IRQCHIP, "KVM_GET_IRQCHIP", &chip).status());
  return chip;
}

absl::Status Vm::SetIrqchip(const kvm_irqchip& chip) {
  kvm_irqchip copy = chip;
  // SAFETY: KVM_SET_IRQCHIP reads a kvm_irqchip.
  return IoctlPtr(fd_, KVM_SET_IRQCHIP, "KVM_SET_IRQCHIP", &copy).status();
}

absl::StatusOr<kvm_pit_state2> Vm::GetPit2() const {
  kvm_pit_state2 pit{};
  // SAFETY: KVM_GET_PIT2 fills a kvm_pit_state2.
  RETURN_IF_ERROR(IoctlPtr(fd_, KVM_GET_PIT2, "KVM_GET_PIT2", &pit).status());
  return pit;
}

absl::Status Vm::SetPit2(const kvm_pit_state2& pit) {
  kvm_pit_state2 copy = pit;
  // SAFETY: KVM_SET_PIT2 reads a kvm_pit_state2.
  return IoctlPtr(fd_, KVM_SET_PIT2, "KVM_SET_PIT2", &copy).status();
}

absl::StatusOr<kvm_clock_data> Vm::GetClock() const {
  kvm_clock_data clock{};
  // SAFETY: KVM_GET_CLOCK fills a kvm_clock_data.
  RETURN_IF_ERROR(IoctlPtr(fd_, KVM_GET_CLOCK, "KVM_GET_CLOCK", &clock).status());
  return clock;
}

absl::Status Vm::SetClock(const kvm_clock_data& clock) {
  kvm_clock_data copy{};
  copy.clock = clock.clock;  // Only the time; KVM refuses flags it does not take.
  // SAFETY: KVM_SET_CLOCK reads a kvm_clock_data.
  return IoctlPtr(fd_, KVM_SET_CLOCK, "KVM_SET_CLOCK", &copy).status();
}

absl::Status Vm::SetIrqLine(uint32_t irq, bool level) {
  kvm_irq_level irq_level{};
  irq_level.irq = irq;
  irq_level.level = level ? 1 : 0;
  // SAFETY: KVM_IRQ_LINE reads a kvm_irq_level.
  return IoctlPtr(fd_, KVM_IRQ_LINE, "KVM_IRQ_LINE", &irq_level).status();
}

absl::Status Vm::RegisterIrqfd(int eventfd, uint32_t gsi) {
  kvm_irqfd irqfd{};
  irqfd.fd = static_cast<uint32_t>(eventfd);
  irqfd.gsi = gsi;
  // SAFETY: KVM_IRQFD reads a kvm_irqfd.
  return IoctlPtr(fd_, KVM_IRQFD, "KVM_IRQFD", &irqfd).status();
}

absl::Status Vm::UnregisterIrqfd(int eventfd, uint32_t gsi) {
  kvm_irqfd irqfd{};
  irqfd.fd = static_cast<uint32_t>(eventfd);
  irqfd.gsi = gsi;
  irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
  // SAFETY: KVM_IRQFD reads a kvm_irqfd.
  return IoctlPtr(fd_, KVM_IRQFD, "KVM_IRQFD(deassign)", &irqfd).status();
}

absl::Status Vm::RegisterIoeventfd(int eventfd, uint64_t addr, uint32_t len,
                                   bool mmio,
                                   std::optional<uint64_t> datamatch) {
  return Ioeventfd(eventfd, addr, len, mmio, datamatch, /*deassign=*/false);
}

absl::Status Vm::UnregisterIoeventfd(int eventfd, uint64_t addr, uint32_t len,
                                     bool mmio,
                                     std::optional<uint64_t> datamatch) {
  return Ioeventfd(eventfd, addr, len, mmio, datamatch, /*deassign=*/true);
}

absl::Status Vm::Ioeventfd(int eventfd, uint64_t addr, uint32_t len, bool mmio,
                           std::optional<uint64_t> datamatch, bool deassign) {
  kvm_ioeventfd ioeventfd{};
  ioeventfd.fd = eventfd;
  ioeventfd.addr = addr;
  ioeventfd.len = len;
  if (!mmio) ioeventfd.flags |= KVM_IOEVENTFD_FLAG_PIO;
  if (datamatch.has_value()) {
    ioeventfd.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
    ioeventfd.datamatch = *datamatch;
  }
  if (deassign) ioeventfd.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
  // SAFETY: KVM_IOEVENTFD reads a kvm_ioeventfd.
  return IoctlPtr(fd_, KVM_IOEVENTFD,
                  deassign ? "KVM_IOEVENTFD(deassign)" : "KVM_IOEVENTFD",
                  &ioeventfd)
      .status();
}

absl::StatusOr<Vcpu> Vm::CreateVcpu(uint32_t id, int mmap_size) {
  ASSIGN_OR_RETURN(int fd,
                   IoctlValue(fd_, KVM_CREATE_VCPU, "KVM_CREATE_VCPU", id));
  return Vcpu::Create(base::UniqueFd(fd), id, mmap_size);
}

}  // namespace blimp::kvm

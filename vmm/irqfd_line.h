// IrqfdLine: a device interrupt line backed by an eventfd that KVM injects
// into the in-kernel irqchip as a GSI (KVM_IRQFD): an edge per Trigger().
#ifndef BLIMP_VMM_IRQFD_LINE_H_
#define BLIMP_VMM_IRQFD_LINE_H_

#include "absl/status/statusor.h"
#include "base/event_fd.h"
#include "device/interrupt_line.h"
#include "kvm/vm.h"

namespace blimp::vmm {

class IrqfdLine : public device::InterruptLine {
 public:
  static absl::StatusOr<std::unique_ptr<IrqfdLine>> Create(kvm::Vm& vm, uint32_t gsi) {
    absl::StatusOr<base::EventFd> fd = base::EventFd::Create();
    if (!fd.ok()) return fd.status();
    absl::Status status = vm.RegisterIrqfd(fd->fd(), gsi);
    if (!status.ok()) return status;
    return std::unique_ptr<IrqfdLine>(new IrqfdLine(*std::move(fd)));
  }

  // An eventfd write only fails when the counter would overflow, in which
  // case an interrupt is pending anyway.
  void Trigger() override { fd_.Write().IgnoreError(); }

 private:
  explicit IrqfdLine(base::EventFd fd) : fd_(std::move(fd)) {}
  base::EventFd fd_;
};

}  // namespace blimp::vmm

#endif  // BLIMP_VMM_IRQFD_LINE_H_

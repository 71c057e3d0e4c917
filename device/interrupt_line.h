// InterruptLine: how a device raises its interrupt, without knowing how it
// gets to the guest (vmm/ backs it with an EventFd registered as a KVM irqfd).
// Edge semantics: a device calls Trigger() whenever an enabled interrupt
// condition becomes pending; extra triggers are harmless, missed ones hang
// the guest driver.
#ifndef BLIMP_DEVICE_INTERRUPT_LINE_H_
#define BLIMP_DEVICE_INTERRUPT_LINE_H_

namespace blimp::device {

class InterruptLine {
 public:
  virtual ~InterruptLine() = default;
  // Must be thread-safe and must not call back into the device.
  virtual void Trigger() = 0;
};

}  // namespace blimp::device

#endif  // BLIMP_DEVICE_INTERRUPT_LINE_H_

// MmioTransport: the virtio-mmio register window (version 2, spec 4.2) in
// front of one VirtioDevice: feature negotiation, the status state machine,
// queue set-up, notifications and the interrupt status. A driver can write
// any register in any order: wrong accesses are logged, counted and ignored.
#ifndef BLIMP_DEVICE_VIRTIO_MMIO_TRANSPORT_H_
#define BLIMP_DEVICE_VIRTIO_MMIO_TRANSPORT_H_

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "device/bus.h"
#include "device/interrupt_line.h"
#include "device/virtio/split_queue.h"
#include "device/virtio/virtio_device.h"
#include "memory/guest_memory.h"

namespace blimp::device::virtio {

// The transport's registers and queues, for snapshots (the device's own
// state is the device's).
struct MmioTransportState {
  uint32_t status = 0;
  uint32_t device_features_sel = 0, driver_features_sel = 0, queue_sel = 0;
  uint64_t driver_features = 0;
  uint32_t interrupt_status = 0;
  uint32_t config_generation = 0;
  bool active = false;
  std::vector<SplitQueueState> queues;
};

class MmioTransport : public BusDevice, private InterruptSink {
 public:
  MmioTransport(std::unique_ptr<VirtioDevice> device, const memory::GuestMemory& memory,
                InterruptLine& irq);

  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

  // A queue notification that came another way (ioeventfd).
  void NotifyQueue(uint32_t index);

  // Runs `fn` on the device under the device lock (control plane calls).
  void WithDevice(const std::function<void(VirtioDevice&)>& fn);

  uint32_t status() const;

  MmioTransportState SaveState() const;
  // Sets the registers and queues, and activates the device again if it was
  // active, with the saved features (then `restore_device` brings back the
  // device's own state). A state the device or its queues refuse resets
  // the transport and is an error.
  absl::Status RestoreState(const MmioTransportState& state,
                            const std::function<absl::Status(VirtioDevice&)>& restore_device);
  // Register accesses and driver mistakes the transport refused.
  uint64_t invalid_accesses() const { return invalid_accesses_; }

 private:
  uint32_t ReadRegister(uint64_t offset) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteRegister(uint64_t offset, uint32_t value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteStatus(uint32_t value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ResetLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The selected queue if it may be configured now, else nullptr.
  SplitQueue* ConfigurableQueue() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NotifyLocked(uint32_t index) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Refuse(const char* what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // InterruptSink. The device calls these only from the VirtioDevice methods
  // the transport runs under mu_ (Activate, ProcessQueue, WithDevice).
  void SignalUsedBuffers() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SignalConfigChange() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  // Every call into the device is serialised by mu_ (see virtio_device.h).
  const std::unique_ptr<VirtioDevice> device_ ABSL_PT_GUARDED_BY(mu_);
  const memory::GuestMemory& memory_;
  InterruptLine& irq_;
  std::vector<SplitQueue> queues_ ABSL_GUARDED_BY(mu_);
  uint32_t status_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t device_features_sel_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t driver_features_sel_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t driver_features_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t queue_sel_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t interrupt_status_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t config_generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool active_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<uint64_t> invalid_accesses_{0};
};

}  // namespace blimp::device::virtio

#endif  // BLIMP_DEVICE_VIRTIO_MMIO_TRANSPORT_H_

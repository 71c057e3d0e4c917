// VirtioDevice: what a virtio device implements, independent of its
// transport (as kvmtool's virtio_ops and rust-vmm's VirtioDevice). The
// transport serialises every call with one lock per device, so devices need
// no locking of their own for anything reached through these methods.
#ifndef BLIMP_DEVICE_VIRTIO_VIRTIO_DEVICE_H_
#define BLIMP_DEVICE_VIRTIO_VIRTIO_DEVICE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "device/virtio/split_queue.h"
#include "memory/guest_memory.h"

namespace blimp::device::virtio {

// How a device tells the driver about used buffers and config changes.
class InterruptSink {
 public:
  virtual ~InterruptSink() = default;
  virtual void SignalUsedBuffers() = 0;
  virtual void SignalConfigChange() = 0;
};

// What a device gets when the driver sets DRIVER_OK.
struct ActivateContext {
  const memory::GuestMemory* memory;
  std::vector<SplitQueue*> queues;  // Same order as queue_max_sizes().
  uint64_t acked_features;
  InterruptSink* interrupt;
};

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;

  virtual uint32_t device_id() const = 0;
  // Offered feature bits (VERSION_1 included).
  virtual uint64_t offered_features() const = 0;
  virtual std::vector<uint16_t> queue_max_sizes() const = 0;

  // Device-specific configuration space (spec 4.2.2: at 0x100).
  virtual void ReadConfig(uint64_t offset, absl::Span<uint8_t> data) = 0;
  virtual void WriteConfig(uint64_t offset, absl::Span<const uint8_t> data) = 0;

  // The driver is ready: queues are configured. An error puts the device in
  // DEVICE_NEEDS_RESET.
  virtual absl::Status Activate(const ActivateContext& context) = 0;
  // The driver notified queue `index` (only after Activate).
  virtual void ProcessQueue(size_t index) = 0;
  // Device reset (status 0): forget the driver's state.
  virtual void Reset() = 0;
};

}  // namespace blimp::device::virtio

#endif  // BLIMP_DEVICE_VIRTIO_VIRTIO_DEVICE_H_

// SplitQueue: the device side of a virtio 1.1 split virtqueue (spec 2.6),
// pure code over GuestMemory. The driver owns the rings and can write
// anything into them: every address and length is checked against guest
// memory, chains are bounded by the queue size (which also stops loops),
// and indirect descriptors (never offered) are refused. A malformed chain is
// returned to the driver as used with length 0 and reported as an error, so
// the queue keeps moving.
#ifndef BLIMP_DEVICE_VIRTIO_SPLIT_QUEUE_H_
#define BLIMP_DEVICE_VIRTIO_SPLIT_QUEUE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "memory/guest_memory.h"

namespace blimp::device::virtio {

struct DescriptorBuffer {
  memory::GuestAddress addr;
  uint32_t len;
  bool device_writable;
};

struct DescriptorChain {
  uint16_t head;
  std::vector<DescriptorBuffer> buffers;
};

// A queue's configuration and ring positions, for snapshots.
struct SplitQueueState {
  uint16_t size = 0;
  bool ready = false;
  uint64_t desc = 0, avail = 0, used = 0;
  uint16_t next_avail = 0, next_used = 0;
};

class SplitQueue {
 public:
  explicit SplitQueue(uint16_t max_size) : max_size_(max_size) { Reset(); }

  // Configuration written by the driver through the transport.
  uint16_t max_size() const { return max_size_; }
  uint16_t size() const { return size_; }
  bool ready() const { return ready_; }
  void set_size(uint16_t size) { size_ = size; }
  void set_desc_addr(uint64_t addr) { desc_ = memory::GuestAddress(addr); }
  void set_avail_addr(uint64_t addr) { avail_ = memory::GuestAddress(addr); }
  void set_used_addr(uint64_t addr) { used_ = memory::GuestAddress(addr); }
  uint64_t desc_addr() const { return desc_.value(); }
  uint64_t avail_addr() const { return avail_.value(); }
  uint64_t used_addr() const { return used_.value(); }
  // Marks the queue ready after checking size, alignment and that every
  // ring lies inside guest memory.
  absl::Status SetReady(const memory::GuestMemory& memory);
  void SetNotReady() { ready_ = false; }
  // Back to the state after device reset (spec 2.4).
  void Reset();

  SplitQueueState SaveState() const;
  // A ready queue is checked as SetReady checks it.
  absl::Status RestoreState(const SplitQueueState& state, const memory::GuestMemory& memory);

  // The next chain the driver made available, or nullopt when there is
  // none. An error means a malformed chain (already returned to the driver
  // when its head was valid) or a broken ring.
  absl::StatusOr<std::optional<DescriptorChain>> Pop(const memory::GuestMemory& memory);

  // Whether the driver made chains available that Pop has not taken yet
  // (false on an unreadable ring: Pop reports that).
  bool HasAvailable(const memory::GuestMemory& memory) const;

  // Puts a chain on the used ring with `len` bytes written by the device.
  absl::Status AddUsed(const memory::GuestMemory& memory, uint16_t head, uint32_t len);

  // Whether the driver wants an interrupt for used buffers now (it may set
  // VIRTQ_AVAIL_F_NO_INTERRUPT to say no).
  bool NeedsInterrupt(const memory::GuestMemory& memory) const;

  // Chains taken from the avail ring and not yet returned.
  uint16_t next_avail() const { return next_avail_; }

 private:
  absl::StatusOr<DescriptorChain> ReadChain(const memory::GuestMemory& memory,
                                            uint16_t head) const;

  const uint16_t max_size_;
  uint16_t size_;
  bool ready_;
  memory::GuestAddress desc_, avail_, used_;
  uint16_t next_avail_;  // Next avail ring entry to read.
  uint16_t next_used_;   // Next used ring entry to write.
};

}  // namespace blimp::device::virtio

#endif  // BLIMP_DEVICE_VIRTIO_SPLIT_QUEUE_H_

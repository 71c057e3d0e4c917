// FakeDriver: the driver side of a split virtqueue, written straight into a
// GuestMemory, for tests. It can also write what a hostile driver would.
#ifndef BLIMP_DEVICE_VIRTIO_TESTING_FAKE_DRIVER_H_
#define BLIMP_DEVICE_VIRTIO_TESTING_FAKE_DRIVER_H_

#include <cstdint>
#include <vector>

#include "device/virtio/split_queue.h"
#include "device/virtio/virtio_defs.h"
#include "memory/guest_memory.h"

namespace blimp::device::virtio {

class FakeDriver {
 public:
  struct Buffer {
    uint64_t addr;
    uint32_t len;
    bool writable = false;
  };

  // Rings at desc/avail/used for a queue of `size` entries.
  FakeDriver(const memory::GuestMemory& memory, uint16_t size, uint64_t desc,
             uint64_t avail, uint64_t used)
      : memory_(memory), size_(size), desc_(desc), avail_(avail), used_(used) {}

  // Points `queue` at these rings and makes it ready.
  absl::Status Configure(SplitQueue& queue) const {
    queue.set_size(size_);
    queue.set_desc_addr(desc_);
    queue.set_avail_addr(avail_);
    queue.set_used_addr(used_);
    return queue.SetReady(memory_);
  }

  // Writes a chain starting at descriptor `first` and makes it available.
  uint16_t AddChain(const std::vector<Buffer>& buffers) {
    uint16_t head = next_desc_;
    for (size_t i = 0; i < buffers.size(); ++i) {
      uint16_t index = (head + i) % size_;
      bool last = i + 1 == buffers.size();
      WriteDesc(index, {buffers[i].addr, buffers[i].len,
                        static_cast<uint16_t>((last ? 0 : kDescFlagNext) |
                                              (buffers[i].writable ? kDescFlagWrite : 0)),
                        static_cast<uint16_t>((index + 1) % size_)});
    }
    next_desc_ = (head + buffers.size()) % size_;
    Publish(head);
    return head;
  }

  void WriteDesc(uint16_t index, VirtqDesc desc) {
    (void)memory_.WriteObj(memory::GuestAddress(desc_ + 16ull * index), desc);
  }
  // Puts `head` on the avail ring and bumps its index.
  void Publish(uint16_t head) {
    (void)memory_.WriteObj<uint16_t>(
        memory::GuestAddress(avail_ + 4 + 2ull * (avail_idx_ % size_)), head);
    SetAvailIdx(++avail_idx_);
  }
  void SetAvailIdx(uint16_t idx) {
    avail_idx_ = idx;
    (void)memory_.WriteObj<uint16_t>(memory::GuestAddress(avail_ + 2), idx);
  }
  void SetAvailFlags(uint16_t flags) {
    (void)memory_.WriteObj<uint16_t>(memory::GuestAddress(avail_), flags);
  }
  uint16_t UsedIdx() const {
    return *memory_.ReadObj<uint16_t>(memory::GuestAddress(used_ + 2));
  }
  VirtqUsedElem UsedElem(uint16_t i) const {
    return *memory_.ReadObj<VirtqUsedElem>(
        memory::GuestAddress(used_ + 4 + 8ull * (i % size_)));
  }

 private:
  const memory::GuestMemory& memory_;
  uint16_t size_;
  uint64_t desc_, avail_, used_;
  uint16_t next_desc_ = 0;
  uint16_t avail_idx_ = 0;
};

}  // namespace blimp::device::virtio

#endif  // BLIMP_DEVICE_VIRTIO_TESTING_FAKE_DRIVER_H_

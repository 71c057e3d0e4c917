#include "device/virtio/split_queue.h"

#include <atomic>

#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "device/virtio/virtio_defs.h"

namespace blimp::device::virtio {
namespace {

using memory::GuestAddress;

// Offsets inside the rings (spec 2.6.6, 2.6.8).
constexpr uint64_t kRingFlags = 0;
constexpr uint64_t kRingIdx = 2;
constexpr uint64_t kRingEntries = 4;

uint64_t DescTableBytes(uint16_t size) { return 16ull * size; }
uint64_t AvailRingBytes(uint16_t size) { return 6 + 2ull * size; }
uint64_t UsedRingBytes(uint16_t size) { return 6 + 8ull * size; }

}  // namespace

void SplitQueue::Reset() {
  size_ = max_size_;
  ready_ = false;
  desc_ = avail_ = used_ = GuestAddress(0);
  next_avail_ = next_used_ = 0;
}

SplitQueueState SplitQueue::SaveState() const {
  return {size_, ready_, desc_.value(), avail_.value(), used_.value(), next_avail_, next_used_};
}

absl::Status SplitQueue::RestoreState(const SplitQueueState& state,
                                      const memory::GuestMemory& memory) {
  Reset();
  size_ = state.size;
  desc_ = GuestAddress(state.desc);
  avail_ = GuestAddress(state.avail);
  used_ = GuestAddress(state.used);
  if (state.ready) {
    if (absl::Status ready = SetReady(memory); !ready.ok()) {
      Reset();
      return ready;
    }
  } else if (size_ > max_size_) {
    Reset();
    return absl::InvalidArgumentError(
        absl::StrFormat("queue size %u exceeds its maximum %u", state.size, max_size_));
  }
  next_avail_ = state.next_avail;
  next_used_ = state.next_used;
  return absl::OkStatus();
}

absl::Status SplitQueue::SetReady(const memory::GuestMemory& memory) {
  if (size_ == 0 || size_ > max_size_ || (size_ & (size_ - 1)) != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "queue size %u is not a power of 2 in [1, %u]", size_, max_size_));
  }
  struct Area {
    const char* name;
    GuestAddress addr;
    uint64_t bytes;
    uint64_t align;
  };
  for (const Area& area : {Area{"descriptor table", desc_, DescTableBytes(size_), 16},
                           Area{"available ring", avail_, AvailRingBytes(size_), 2},
                           Area{"used ring", used_, UsedRingBytes(size_), 4}}) {
    if (area.addr.value() % area.align != 0 || !memory.Contains(area.addr, area.bytes)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s at %#x (+%#x) is misaligned or outside guest RAM", area.name,
          area.addr.value(), area.bytes));
    }
  }
  ready_ = true;
  return absl::OkStatus();
}

absl::StatusOr<DescriptorChain> SplitQueue::ReadChain(const memory::GuestMemory& memory,
                                                      uint16_t head) const {
  DescriptorChain chain{head, {}};
  uint16_t index = head;
  bool seen_writable = false;
  // A chain can have at most `size_` descriptors; more means a loop.
  for (uint32_t count = 0;; ++count) {
    if (count >= size_) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "descriptor chain from %u is longer than the queue (a loop?)", head));
    }
    if (index >= size_) {
      return absl::InvalidArgumentError(
          absl::StrFormat("descriptor index %u out of range (queue size %u)", index, size_));
    }
    ASSIGN_OR_RETURN(VirtqDesc desc,
                     memory.ReadObj<VirtqDesc>(desc_.Offset(DescTableBytes(index))));
    if (desc.flags & kDescFlagIndirect) {
      return absl::InvalidArgumentError("indirect descriptors were not negotiated");
    }
    bool writable = desc.flags & kDescFlagWrite;
    if (!writable && seen_writable) {
      // Spec 2.6.4.2: device-readable buffers come first.
      return absl::InvalidArgumentError("readable descriptor after a writable one");
    }
    seen_writable = seen_writable || writable;
    if (!memory.Contains(GuestAddress(desc.addr), desc.len)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "descriptor %u buffer [%#x, +%#x) is outside guest RAM", index, desc.addr,
          desc.len));
    }
    chain.buffers.push_back({GuestAddress(desc.addr), desc.len, writable});
    if (!(desc.flags & kDescFlagNext)) return chain;
    index = desc.next;
  }
}

bool SplitQueue::HasAvailable(const memory::GuestMemory& memory) const {
  if (!ready_) return false;
  absl::StatusOr<uint16_t> avail_idx = memory.ReadObj<uint16_t>(avail_.Offset(kRingIdx));
  return avail_idx.ok() && *avail_idx != next_avail_;
}

absl::StatusOr<std::optional<DescriptorChain>> SplitQueue::Pop(
    const memory::GuestMemory& memory) {
  if (!ready_) return std::optional<DescriptorChain>();
  ASSIGN_OR_RETURN(uint16_t avail_idx, memory.ReadObj<uint16_t>(avail_.Offset(kRingIdx)));
  // Read the ring entries only after the index that published them.
  std::atomic_thread_fence(std::memory_order_acquire);
  uint16_t pending = avail_idx - next_avail_;
  if (pending == 0) return std::optional<DescriptorChain>();
  if (pending > size_) {
    next_avail_ = avail_idx;  // Drop the bogus batch so the queue can recover.
    return absl::InvalidArgumentError(absl::StrFormat(
        "available index %u ran %u entries ahead of the queue size %u", avail_idx,
        pending, size_));
  }
  ASSIGN_OR_RETURN(uint16_t head,
                   memory.ReadObj<uint16_t>(
                       avail_.Offset(kRingEntries + 2ull * (next_avail_ % size_))));
  ++next_avail_;
  absl::StatusOr<DescriptorChain> chain = ReadChain(memory, head);
  if (!chain.ok()) {
    if (head < size_) AddUsed(memory, head, 0).IgnoreError();
    return chain.status();
  }
  return std::optional<DescriptorChain>(*std::move(chain));
}

absl::Status SplitQueue::AddUsed(const memory::GuestMemory& memory, uint16_t head,
                                 uint32_t len) {
  if (!ready_) return absl::FailedPreconditionError("queue not ready");
  if (head >= size_) {
    return absl::InvalidArgumentError(absl::StrFormat("used id %u out of range", head));
  }
  VirtqUsedElem elem{head, len};
  RETURN_IF_ERROR(memory.WriteObj(
      used_.Offset(kRingEntries + sizeof(VirtqUsedElem) * (next_used_ % size_)), elem));
  ++next_used_;
  // The element must be visible before the index that publishes it.
  std::atomic_thread_fence(std::memory_order_release);
  return memory.WriteObj<uint16_t>(used_.Offset(kRingIdx), next_used_);
}

bool SplitQueue::NeedsInterrupt(const memory::GuestMemory& memory) const {
  if (!ready_) return false;
  // Order our used index write before reading the driver's flags.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  auto flags = memory.ReadObj<uint16_t>(avail_.Offset(kRingFlags));
  return !flags.ok() || !(*flags & kAvailFlagNoInterrupt);
}

}  // namespace blimp::device::virtio

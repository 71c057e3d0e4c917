// Turns the PFNs a driver sent into the ranges to discard: only page frames
// that lie inside guest RAM, each once, sorted and coalesced into runs that
// never cross a region boundary.
#ifndef BLIMP_DEVICE_VIRTIO_BALLOON_PFN_RANGES_H_
#define BLIMP_DEVICE_VIRTIO_BALLOON_PFN_RANGES_H_

#include <cstdint>
#include <vector>

#include "memory/guest_memory.h"

namespace blimp::device::virtio::balloon {

struct PageRange {
  memory::GuestAddress start;
  uint64_t bytes;
};

struct PfnRanges {
  std::vector<PageRange> ranges;
  uint64_t invalid = 0;     // Outside guest RAM.
  uint64_t duplicates = 0;  // Sent more than once.
};

PfnRanges CompactPfns(std::vector<uint32_t> pfns, const memory::GuestMemory& memory);

}  // namespace blimp::device::virtio::balloon

#endif  // BLIMP_DEVICE_VIRTIO_BALLOON_PFN_RANGES_H_

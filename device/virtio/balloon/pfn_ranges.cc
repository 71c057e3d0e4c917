#include "device/virtio/balloon/pfn_ranges.h"

#include <algorithm>

#include "device/virtio/balloon/balloon_defs.h"

namespace blimp::device::virtio::balloon {

PfnRanges CompactPfns(std::vector<uint32_t> pfns, const memory::GuestMemory& memory) {
  PfnRanges result;
  std::sort(pfns.begin(), pfns.end());
  size_t unique = std::unique(pfns.begin(), pfns.end()) - pfns.begin();
  result.duplicates = pfns.size() - unique;
  pfns.resize(unique);
  for (uint32_t pfn : pfns) {
    memory::GuestAddress page(uint64_t{pfn} << kPfnShift);
    if (!memory.Contains(page, kBalloonPageSize)) {
      ++result.invalid;
      continue;
    }
    if (!result.ranges.empty()) {
      PageRange& last = result.ranges.back();
      // Extend only while the run stays inside one region.
      if (last.start.Offset(last.bytes) == page &&
          memory.Contains(last.start, last.bytes + kBalloonPageSize)) {
        last.bytes += kBalloonPageSize;
        continue;
      }
    }
    result.ranges.push_back({page, kBalloonPageSize});
  }
  return result;
}

}  // namespace blimp::device::virtio::balloon

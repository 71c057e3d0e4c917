#include "arch/x86_64/e820.h"

#include "absl/strings/str_format.h"
#include "arch/x86_64/layout.h"

namespace blimp::arch::x86_64 {

uint64_t LowRamEnd(const memory::GuestMemory& mem) {
  const auto& regions = mem.regions();
  if (regions.empty() || regions[0].start.value() != 0) return 0;
  return regions[0].end().value();
}

absl::StatusOr<std::vector<E820Entry>> BuildE820Map(const memory::GuestMemory& mem) {
  uint64_t low_end = LowRamEnd(mem);
  if (low_end <= kHimemStart) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "guest RAM must start at 0 and extend past 1 MiB (low RAM ends at %#x)",
        low_end));
  }
  std::vector<E820Entry> map;
  map.push_back({0, kEbdaStart, kE820Ram});
  map.push_back({kEbdaStart, kHimemStart - kEbdaStart, kE820Reserved});
  map.push_back({kHimemStart, low_end - kHimemStart, kE820Ram});
  const auto& regions = mem.regions();
  for (size_t i = 1; i < regions.size(); ++i) {
    map.push_back({regions[i].start.value(), regions[i].size, kE820Ram});
  }
  if (map.size() > kE820MaxEntriesZeroPage) {
    return absl::InvalidArgumentError("too many guest memory regions for e820");
  }
  return map;
}

}  // namespace blimp::arch::x86_64

#include "device/bus.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_format.h"

namespace blimp::device {

namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// "[0x3f8, 0x400)", or "[base, 2^64)" for a range at the very top.
std::string RangeName(uint64_t base, uint64_t last) {
  if (last == kMax) return absl::StrFormat("[%#x, 2^64)", base);
  return absl::StrFormat("[%#x, %#x)", base, last + 1);
}

}  // namespace

absl::Status Bus::Insert(std::shared_ptr<BusDevice> device, uint64_t base,
                         uint64_t len) {
  if (device == nullptr) {
    return absl::InvalidArgumentError("bus: null device");
  }
  if (len == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("bus: empty range at %#x", base));
  }
  if (len - 1 > kMax - base) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "bus: range at %#x of %#x bytes runs past the end of the address "
        "space",
        base, len));
  }
  uint64_t last = base + (len - 1);
  // The first range starting after `base`; its predecessor starts at or
  // before `base`.
  auto next = std::upper_bound(
      ranges_.begin(), ranges_.end(), base,
      [](uint64_t addr, const Range& range) { return addr < range.base; });
  const Range* clash = nullptr;
  if (next != ranges_.begin() && std::prev(next)->last >= base) {
    clash = &*std::prev(next);
  } else if (next != ranges_.end() && next->base <= last) {
    clash = &*next;
  }
  if (clash != nullptr) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "bus: range %s overlaps %s, already on the bus",
        RangeName(base, last), RangeName(clash->base, clash->last)));
  }
  ranges_.insert(next, Range{base, last, std::move(device)});
  return absl::OkStatus();
}

const Bus::Range* Bus::Find(uint64_t addr, uint64_t size) const {
  if (size == 0 || size - 1 > kMax - addr) return nullptr;
  auto next = std::upper_bound(
      ranges_.begin(), ranges_.end(), addr,
      [](uint64_t a, const Range& range) { return a < range.base; });
  if (next == ranges_.begin()) return nullptr;
  const Range& range = *std::prev(next);
  // addr >= range.base here; the whole access must fit.
  if (addr + (size - 1) > range.last) return nullptr;
  return &range;
}

bool Bus::Read(uint64_t addr, absl::Span<uint8_t> data) const {
  const Range* range = Find(addr, data.size());
  if (range == nullptr) return false;
  range->device->Read(addr - range->base, data);
  return true;
}

bool Bus::Write(uint64_t addr, absl::Span<const uint8_t> data) const {
  const Range* range = Find(addr, data.size());
  if (range == nullptr) return false;
  range->device->Write(addr - range->base, data);
  return true;
}

}  // namespace blimp::device

// Bus: maps guest address ranges (I/O ports or MMIO) to devices. vmm/ has one
// for PIO and one for MMIO; vCPU threads dispatch their exits through it.
//
// Threading: Insert() is for set-up only, before any vCPU thread starts (the
// thread start orders it before every Read/Write). Read() and Write() are
// const, take no lock and may run on many threads at once; the devices
// synchronize themselves.
#ifndef BLIMP_DEVICE_BUS_H_
#define BLIMP_DEVICE_BUS_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace blimp::device {

// A device behind a bus range. `offset` is relative to the range's base;
// an access never runs past the range's end. Called from vCPU threads,
// possibly several at once.
class BusDevice {
 public:
  virtual ~BusDevice() = default;
  // Fills `data` (the guest reads it).
  virtual void Read(uint64_t offset, absl::Span<uint8_t> data) = 0;
  virtual void Write(uint64_t offset, absl::Span<const uint8_t> data) = 0;
};

class Bus {
 public:
  // Adds [base, base + len) for `device`. InvalidArgument for a null device,
  // len 0, a range past the end of the 64-bit space, or one overlapping a
  // range already there (the message names both). Not thread-safe: set-up
  // only (see above).
  absl::Status Insert(std::shared_ptr<BusDevice> device, uint64_t base,
                      uint64_t len);

  // Dispatches an access of data.size() bytes at `addr` to the device whose
  // range holds all of it, with offset = addr - base. Returns false (and
  // touches nothing) when no device does: the caller counts or logs it and,
  // for a read, decides what the guest sees. Empty accesses return false.
  bool Read(uint64_t addr, absl::Span<uint8_t> data) const;
  bool Write(uint64_t addr, absl::Span<const uint8_t> data) const;

 private:
  struct Range {
    uint64_t base;
    uint64_t last;  // Inclusive, so that a range may end at 2^64.
    std::shared_ptr<BusDevice> device;
  };
  // The range holding [addr, addr + size), or nullptr.
  const Range* Find(uint64_t addr, uint64_t size) const;

  std::vector<Range> ranges_;  // Sorted by base, not overlapping.
};

}  // namespace blimp::device

#endif  // BLIMP_DEVICE_BUS_H_

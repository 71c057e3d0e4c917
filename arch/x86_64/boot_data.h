// Placing what the kernel finds next to itself: the initrd (as high as the
// kernel allows, below the end of low RAM, above the kernel) and the command
// line (at kCmdlineAddr, length limited by the kernel's cmdline_size).
#ifndef BLIMP_ARCH_X86_64_BOOT_DATA_H_
#define BLIMP_ARCH_X86_64_BOOT_DATA_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "memory/guest_memory.h"

namespace blimp::arch::x86_64 {

// The highest page-aligned address A with [A, A + size) inside low RAM,
// A + size - 1 <= initrd_addr_max, and A >= kernel_end. InvalidArgument if
// there is none.
absl::StatusOr<uint64_t> PlaceInitrd(const memory::GuestMemory& mem, uint64_t size,
                                     uint64_t kernel_end, uint64_t initrd_addr_max);

struct LoadedInitrd {
  uint64_t addr = 0;
  uint64_t size = 0;
};
// Reads the file at `path` to the address PlaceInitrd picks.
absl::StatusOr<LoadedInitrd> LoadInitrd(const memory::GuestMemory& mem,
                                        const std::string& path, uint64_t kernel_end,
                                        uint64_t initrd_addr_max);

// Writes `cmdline` and its NUL at kCmdlineAddr. InvalidArgument if it is
// longer than `max_len` bytes (the kernel's cmdline_size, which excludes the
// NUL) or than our reserved area, or contains a NUL.
absl::Status WriteCmdline(const memory::GuestMemory& mem, const std::string& cmdline,
                          uint64_t max_len);

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_BOOT_DATA_H_

// The guest's physical memory map (e820), built from GuestMemory's regions:
//   [0, kEbdaStart)                 usable
//   [kEbdaStart, kHimemStart)       reserved (EBDA, VGA hole, BIOS area with
//                                   our ACPI tables)
//   [kHimemStart, end of region 0)  usable
//   every other region (above 4 GiB) usable.
// The MMIO hole is simply absent (not RAM); Linux needs no entry for it.
#ifndef BLIMP_ARCH_X86_64_E820_H_
#define BLIMP_ARCH_X86_64_E820_H_

#include <vector>

#include "absl/status/statusor.h"
#include "arch/x86_64/boot_params.h"
#include "memory/guest_memory.h"

namespace blimp::arch::x86_64 {

// InvalidArgument unless the first region starts at 0 and reaches past
// kHimemStart.
absl::StatusOr<std::vector<E820Entry>> BuildE820Map(const memory::GuestMemory& mem);

// The end of the RAM region that starts at 0 (where the kernel, initrd and
// everything else at boot must fit).
uint64_t LowRamEnd(const memory::GuestMemory& mem);

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_E820_H_

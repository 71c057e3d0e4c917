// Reads the guest's code at a virtual address, for reports when KVM cannot
// run an instruction: translates through the guest's own page tables
// (4-level paging, 2 MiB and 1 GiB pages) or takes the address as physical
// when paging is off.
#ifndef BLIMP_VMM_GUEST_CODE_H_
#define BLIMP_VMM_GUEST_CODE_H_

#include <linux/kvm.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "memory/guest_memory.h"

namespace blimp::vmm {

absl::StatusOr<uint64_t> TranslateGuestVirtual(const memory::GuestMemory& memory,
                                               const kvm_sregs& sregs, uint64_t gva);

// Up to `max` bytes at `gva` (fewer if the code runs off mapped memory).
absl::StatusOr<std::vector<uint8_t>> ReadGuestCode(const memory::GuestMemory& memory,
                                                   const kvm_sregs& sregs, uint64_t gva,
                                                   size_t max = 15);

// "cmpxchg16b", "xrstor", "int3", ... for the instructions known to fail on
// this host's KVM; "unknown" otherwise.
std::string GuessMnemonic(const std::vector<uint8_t>& code);

}  // namespace blimp::vmm

#endif  // BLIMP_VMM_GUEST_CODE_H_

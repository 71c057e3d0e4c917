// Identity page tables for entering the kernel in long mode: [0, 4 GiB)
// mapped 1:1 with 2 MiB pages (PML4 -> one PDPT -> four PDs), at the
// addresses in layout.h. The kernel replaces them early; they only have to
// cover the kernel, boot_params, the command line and initrd, and the MMIO
// hole for early console/APIC access.
#ifndef BLIMP_ARCH_X86_64_PAGE_TABLES_H_
#define BLIMP_ARCH_X86_64_PAGE_TABLES_H_

#include "absl/status/status.h"
#include "memory/guest_memory.h"

namespace blimp::arch::x86_64 {

// Writes the tables; CR3 must then be kPml4Addr.
absl::Status WriteIdentityPageTables(const memory::GuestMemory& mem);

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_PAGE_TABLES_H_

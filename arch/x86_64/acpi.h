// Writes the guest's ACPI tables into [kAcpiStart, kAcpiEnd): the RSDP at
// kRsdpAddr, then XSDT, FADT, MADT and DSDT. The kernel finds the RSDP via
// boot_params.acpi_rsdp_addr / hvm_start_info.rsdp_paddr, or by scanning
// 0xE0000-0xFFFFF.
#ifndef BLIMP_ARCH_X86_64_ACPI_H_
#define BLIMP_ARCH_X86_64_ACPI_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "arch/x86_64/acpi_tables.h"
#include "arch/x86_64/layout.h"
#include "memory/guest_memory.h"

namespace blimp::arch::x86_64 {

// Where each table went.
struct AcpiLayout {
  uint64_t rsdp = 0;
  uint64_t xsdt = 0;
  uint64_t fadt = 0;
  uint64_t madt = 0;
  uint64_t dsdt = 0;
  uint64_t end = 0;  // Exclusive.
};

// The tables and their addresses, without writing them.
struct AcpiTables {
  AcpiLayout layout;
  AcpiBytes rsdp, xsdt, fadt, madt, dsdt;
};

// InvalidArgument if vcpu_count is not in [1, kMaxVcpus], a device's
// base/size does not fit in 32 bits, its IRQ is not an IOAPIC pin other
// than the serial's, or the tables overflow the region.
absl::Status ValidateAcpiInput(uint32_t vcpu_count,
                               const std::vector<VirtioMmioSlot>& devices);
absl::StatusOr<AcpiTables> BuildAcpiTables(uint32_t vcpu_count,
                                           const std::vector<VirtioMmioSlot>& devices);
// Builds and writes them; returns the RSDP's address.
absl::StatusOr<uint64_t> WriteAcpiTables(const memory::GuestMemory& mem, uint32_t vcpu_count,
                                         const std::vector<VirtioMmioSlot>& devices);

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_ACPI_H_

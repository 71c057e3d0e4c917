// ACPI table builders (ACPI 6.5 chapter 5): RSDP (revision 2), XSDT, FADT
// (revision 6, hardware-reduced), MADT, each returned as the table's bytes
// with length and checksum(s) filled in. The DSDT is in dsdt.h; acpi.h puts
// everything into guest memory.
#ifndef BLIMP_ARCH_X86_64_ACPI_TABLES_H_
#define BLIMP_ARCH_X86_64_ACPI_TABLES_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace blimp::arch::x86_64 {

using AcpiBytes = std::vector<uint8_t>;

// Section 5.2.6 system description table header: 36 bytes.
inline constexpr size_t kSdtHeaderSize = 36;
inline constexpr size_t kSdtLengthOffset = 4;
inline constexpr size_t kSdtChecksumOffset = 9;
inline constexpr char kAcpiOemId[] = "BLIMP ";  // 6 bytes.
inline constexpr uint32_t kAcpiOemRevision = 1;
inline constexpr char kAcpiCreatorId[] = "BLMP";
inline constexpr uint32_t kAcpiCreatorRevision = 1;

// Section 5.2.5.3 RSDP: 20 bytes for the ACPI 1.0 checksum, 36 in all.
inline constexpr size_t kRsdpSize = 36;
inline constexpr size_t kRsdpV1Size = 20;
// Section 5.2.9 FADT (revision 6): 276 bytes.
inline constexpr size_t kFadtSize = 276;
inline constexpr uint8_t kFadtRevision = 6;
inline constexpr uint8_t kFadtMinorRevision = 5;  // ACPI 6.5.
// FADT Flags (Table 5.10).
inline constexpr uint32_t kFadtPwrButton = 1u << 4;   // No fixed power button.
inline constexpr uint32_t kFadtSlpButton = 1u << 5;   // No fixed sleep button.
inline constexpr uint32_t kFadtResetRegSup = 1u << 10;
inline constexpr uint32_t kFadtHwReducedAcpi = 1u << 20;
// IA-PC boot architecture flags (Table 5.11).
inline constexpr uint16_t kBootArchVgaNotPresent = 1u << 2;
inline constexpr uint16_t kBootArchMsiNotSupported = 1u << 3;
inline constexpr uint16_t kBootArchCmosRtcNotPresent = 1u << 5;
// Generic Address Structure (section 5.2.3.2).
inline constexpr uint8_t kGasSystemIo = 1;
inline constexpr uint8_t kGasAccessByte = 1;
// Section 5.2.12 MADT.
inline constexpr uint8_t kMadtRevision = 5;
inline constexpr uint32_t kMadtPcatCompat = 1u << 0;
inline constexpr uint8_t kMadtLocalApic = 0;
inline constexpr uint8_t kMadtIoApic = 1;
inline constexpr uint32_t kMadtLocalApicEnabled = 1u << 0;

// Sum of the bytes, mod 256 (a correct table sums to 0).
uint8_t AcpiChecksum(const uint8_t* data, size_t len);

// A table header with `signature` and `revision`; length and checksum are
// set by FinishSdt.
AcpiBytes SdtHeader(std::string_view signature, uint8_t revision);
// Sets the length field to data.size() and fixes the checksum.
void FinishSdt(AcpiBytes& table);

AcpiBytes BuildRsdp(uint64_t xsdt_addr);
AcpiBytes BuildXsdt(const std::vector<uint64_t>& table_addrs);
// Hardware-reduced FADT: X_DSDT = dsdt_addr, sleep control/status and reset
// registers in I/O space at the layout.h ports, reset value 1.
AcpiBytes BuildFadt(uint64_t dsdt_addr);
// One enabled Processor Local APIC per vCPU (UID = APIC id = index), the
// IOAPIC at kIoapicAddr with GSI base 0. No interrupt source overrides:
// in hardware-reduced mode Linux uses no PIT/PIC, and KVM's default GSI
// routing maps ISA IRQ n to IOAPIC pin n anyway.
AcpiBytes BuildMadt(uint32_t vcpu_count);

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_ACPI_TABLES_H_

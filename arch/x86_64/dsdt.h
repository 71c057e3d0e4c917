// The DSDT (ACPI 6.5 section 5.2.11.1) for a Blimp microVM, in AML:
//   Name (\_S5, Package (4) {5, 0, 0, 0})     -- poweroff: SLP_TYP 5
//   Scope (\_SB) {
//     Device (COM1) { _HID EISAID("PNP0501"), _UID 0,
//                     _CRS { IO (Decode16, 0x3f8, 0x3f8, 1, 8), IRQNoFlags {4} } }
//     Device (VRnn) { _HID "LNRO0005", _UID n,      -- one per virtio-mmio device
//                     _CRS { Memory32Fixed (ReadWrite, base, size),
//                            Interrupt (ResourceConsumer, Edge, ActiveHigh,
//                                       Exclusive) {irq} } }
//   }
// LNRO0005 is what Linux's virtio_mmio driver matches over ACPI
// (drivers/virtio/virtio_mmio.c, virtio_mmio_acpi_match), as Firecracker
// uses; the driver takes the first MEM and IRQ resources.
#ifndef BLIMP_ARCH_X86_64_DSDT_H_
#define BLIMP_ARCH_X86_64_DSDT_H_

#include <vector>

#include "arch/x86_64/acpi_tables.h"
#include "arch/x86_64/layout.h"

namespace blimp::arch::x86_64 {

inline constexpr uint8_t kDsdtRevision = 2;  // 64-bit AML integers.
inline constexpr char kVirtioMmioHid[] = "LNRO0005";

// The whole table, header and checksum included. The devices must be
// validated (acpi.h does) : base and size fit 32 bits.
AcpiBytes BuildDsdt(const std::vector<VirtioMmioSlot>& devices);

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_DSDT_H_

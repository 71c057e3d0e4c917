// The guest-physical (and guest I/O-port) layout of a Blimp x86-64 microVM:
// where the boot structures, page tables, kernel, command line and ACPI
// tables go, and where the devices sit. Every address here has its reason.
// Low-memory slots follow Firecracker's choices where one exists, so tooling
// and kernel expectations carry over.
#ifndef BLIMP_ARCH_X86_64_LAYOUT_H_
#define BLIMP_ARCH_X86_64_LAYOUT_H_

#include <cstdint>

namespace blimp::arch::x86_64 {

inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = 1024 * kKiB;
inline constexpr uint64_t kGiB = 1024 * kMiB;

// ---- Below 1 MiB: boot structures. [0, 0x500) holds the real-mode IVT and
// BIOS data area on a PC; we keep it untouched (zero) so nothing that scans
// it is surprised.

// Our GDT (gdt.h): 8 bytes per entry, room for 8 (we use 5).
inline constexpr uint64_t kGdtAddr = 0x500;
// An empty IDT (one zero entry, limit 7): interrupts stay disabled until the
// kernel installs its own.
inline constexpr uint64_t kIdtAddr = 0x540;
// PVH: struct hvm_start_info (56 bytes), then its module list, then its
// memory map (fills the rest of the page: (0x7000-0x6100)/24 = 160 entries).
inline constexpr uint64_t kPvhStartInfoAddr = 0x6000;
inline constexpr uint64_t kPvhModlistAddr = 0x6040;
inline constexpr uint64_t kPvhMemmapAddr = 0x6100;
inline constexpr uint64_t kPvhMemmapMaxEntries = (0x7000 - kPvhMemmapAddr) / 24;
// Linux 64-bit boot protocol: struct boot_params ("zero page", 4 KiB).
inline constexpr uint64_t kZeroPageAddr = 0x7000;
// Initial RSP/RBP: grows down from just under the page tables; the kernel
// switches to its own stack within a few instructions.
inline constexpr uint64_t kBootStackPointer = 0x8ff0;
// Identity page tables (page_tables.h): one PML4, one PDPT, four PDs of
// 2 MiB pages mapping [0, 4 GiB), so RAM below the MMIO hole and the hole
// itself (LAPIC, IOAPIC, virtio-mmio) are reachable before the kernel builds
// its own tables.
inline constexpr uint64_t kPml4Addr = 0x9000;
inline constexpr uint64_t kPdptAddr = 0xa000;
inline constexpr uint64_t kPdAddr = 0xb000;  // PDs at 0xb000..0xefff.
inline constexpr uint64_t kPdCount = 4;
inline constexpr uint64_t kIdentityMapSize = kPdCount * kGiB;
// Kernel command line, NUL-terminated. 64 KiB reserved; the usable length is
// further limited by the kernel's setup_header.cmdline_size.
inline constexpr uint64_t kCmdlineAddr = 0x20000;
inline constexpr uint64_t kCmdlineMaxSize = 0x10000;  // Including the NUL.
// Start of the Extended BIOS Data Area on a PC: RAM below it is usable,
// [kEbdaStart, kHimemStart) is reserved in the e820 map.
inline constexpr uint64_t kEbdaStart = 0x9fc00;
// ACPI tables: the RSDP must sit in the BIOS read-only area
// [0xE0000, 0xFFFFF] on a 16-byte boundary (ACPI 6.5 section 5.2.5.1), where
// Linux's legacy scan finds it even without boot_params.acpi_rsdp_addr.
// The other tables follow it in the same 128 KiB.
inline constexpr uint64_t kAcpiStart = 0xe0000;
inline constexpr uint64_t kAcpiEnd = 0x100000;  // Exclusive.
inline constexpr uint64_t kRsdpAddr = kAcpiStart;
// "High memory": where protected-mode kernels are loaded by default
// (Documentation/arch/x86/boot.rst); everything above is usable RAM.
inline constexpr uint64_t kHimemStart = 0x100000;
inline constexpr uint64_t kKernelLoadAddr = kHimemStart;

// ---- The 32-bit MMIO hole [3 GiB, 4 GiB) (see memory/guest_memory.h).

// virtio-mmio devices: one 4 KiB slot each from kVirtioMmioStart, IRQs
// (IOAPIC pins == GSIs) from kVirtioMmioFirstIrq upward.
inline constexpr uint64_t kVirtioMmioStart = 0xd0000000;
inline constexpr uint64_t kVirtioMmioSlotSize = 0x1000;
inline constexpr uint32_t kVirtioMmioFirstIrq = 5;
// One virtio-mmio device as the guest sees it.
struct VirtioMmioSlot {
  uint64_t base = 0;
  uint64_t size = kVirtioMmioSlotSize;
  uint32_t irq = 0;
};
// The n-th slot of the window: base kVirtioMmioStart + n * 4 KiB, IRQ 5 + n.
constexpr VirtioMmioSlot VirtioMmioSlotAt(uint32_t n) {
  return VirtioMmioSlot{kVirtioMmioStart + n * kVirtioMmioSlotSize, kVirtioMmioSlotSize,
                        kVirtioMmioFirstIrq + n};
}
// The IOAPIC (KVM's in-kernel one): standard address, 24 pins, GSI base 0.
inline constexpr uint64_t kIoapicAddr = 0xfec00000;
inline constexpr uint32_t kIoapicPins = 24;
// Every virtio-mmio IRQ must be an IOAPIC pin.
inline constexpr uint32_t kMaxVirtioMmioDevices = kIoapicPins - kVirtioMmioFirstIrq;
// The local APICs (architectural default, IA32_APIC_BASE reset value).
inline constexpr uint64_t kLapicAddr = 0xfee00000;

// ---- I/O ports and legacy IRQs.

// COM1 (16550 UART): ports 0x3f8..0x3ff, ISA IRQ 4.
inline constexpr uint16_t kCom1Port = 0x3f8;
inline constexpr uint16_t kCom1PortCount = 8;
inline constexpr uint32_t kCom1Irq = 4;

// ACPI hardware-reduced platform registers (ACPI 6.5 sections 4.8.3.7 and
// 4.8.3.6), implemented by vmm/ (power_devices.h), pointed at by the FADT.
// Poweroff: the guest writes kSleepTypeS5 << kSleepTypShift | kSleepEnable
// to the sleep control register (the 5 comes from our DSDT's \_S5 package).
// Reboot: the guest writes kResetValue to the reset register.
inline constexpr uint16_t kAcpiSleepControlPort = 0x600;
inline constexpr uint16_t kAcpiSleepStatusPort = 0x601;
inline constexpr uint16_t kAcpiResetPort = 0x602;
inline constexpr uint8_t kAcpiResetValue = 0x1;
inline constexpr uint8_t kSleepTypeS5 = 5;
inline constexpr uint8_t kSleepTypShift = 2;        // SLP_TYPx, bits [4:2].
inline constexpr uint8_t kSleepEnable = 1u << 5;    // SLP_EN, bit 5.
inline constexpr uint8_t kWakeStatus = 1u << 7;     // WAK_STS in sleep status.

// At most this many vCPUs: xAPIC ids are 8 bits and 0xff is broadcast; the
// MADT uses Processor Local APIC entries (8-bit ids).
inline constexpr uint32_t kMaxVcpus = 254;

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_LAYOUT_H_

// The boot GDT: segment-descriptor encoding (SDM Vol. 3A 3.4.5), the table
// we put in guest memory, and the kvm_segment each entry stands for, so the
// hidden segment state KVM loads matches what the guest could reload itself.
#ifndef BLIMP_ARCH_X86_64_GDT_H_
#define BLIMP_ARCH_X86_64_GDT_H_

#include <linux/kvm.h>

#include <array>
#include <cstdint>

#include "absl/status/status.h"
#include "memory/guest_memory.h"

namespace blimp::arch::x86_64 {

// Encodes a descriptor. `flags_access` is 0xF0FF-style: bits [15:12] are the
// flags nibble (G, D/B, L, AVL), bits [7:0] the access byte (P, DPL, S,
// type); limit is 20 bits.
uint64_t GdtEntry(uint16_t flags_access, uint32_t base, uint32_t limit);

// The descriptor `entry` as KVM's segment register state, with `selector`.
kvm_segment SegmentFromGdtEntry(uint64_t entry, uint16_t selector);

// Our GDT's slots.
inline constexpr uint16_t kGdtNull = 0;
inline constexpr uint16_t kGdtCode64 = 1;  // Selector 0x08, Linux boot protocol.
inline constexpr uint16_t kGdtData = 2;    // Selector 0x10, flat 4 GiB r/w.
inline constexpr uint16_t kGdtTss = 3;     // Selector 0x18, 32-bit TSS, busy.
inline constexpr uint16_t kGdtCode32 = 4;  // Selector 0x20, PVH's flat code.
inline constexpr size_t kGdtEntryCount = 5;
constexpr uint16_t Selector(uint16_t index) { return index * 8; }

// The entries above, in order: null, 0x00af9b000000ffff (64-bit code),
// 0x00cf93000000ffff (data), a busy 32-bit TSS at base 0 limit 0x67, and
// 0x00cf9b000000ffff (32-bit code).
std::array<uint64_t, kGdtEntryCount> BootGdt();

// Writes BootGdt() at kGdtAddr and a zero IDT entry at kIdtAddr.
absl::Status WriteGdtAndIdt(const memory::GuestMemory& mem);

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_GDT_H_

#include "arch/x86_64/gdt.h"

#include "arch/x86_64/layout.h"
#include "base/status_macros.h"

namespace blimp::arch::x86_64 {

uint64_t GdtEntry(uint16_t flags_access, uint32_t base, uint32_t limit) {
  return ((static_cast<uint64_t>(base) & 0xff000000ull) << (56 - 24)) |
         ((static_cast<uint64_t>(flags_access) & 0xf0ffull) << 40) |
         ((static_cast<uint64_t>(limit) & 0x000f0000ull) << (48 - 16)) |
         ((static_cast<uint64_t>(base) & 0x00ffffffull) << 16) |
         (static_cast<uint64_t>(limit) & 0x0000ffffull);
}

kvm_segment SegmentFromGdtEntry(uint64_t entry, uint16_t selector) {
  kvm_segment seg{};
  seg.base = ((entry >> 16) & 0xffffff) | (((entry >> 56) & 0xff) << 24);
  uint32_t limit = static_cast<uint32_t>((entry & 0xffff) | (((entry >> 48) & 0xf) << 16));
  seg.g = (entry >> 55) & 1;
  // With G set the limit counts 4 KiB units; KVM wants it in bytes.
  seg.limit = seg.g ? (limit << 12) | 0xfff : limit;
  seg.selector = selector;
  seg.type = (entry >> 40) & 0xf;
  seg.s = (entry >> 44) & 1;
  seg.dpl = (entry >> 45) & 3;
  seg.present = (entry >> 47) & 1;
  seg.avl = (entry >> 52) & 1;
  seg.l = (entry >> 53) & 1;
  seg.db = (entry >> 54) & 1;
  seg.unusable = seg.present ? 0 : 1;
  return seg;
}

std::array<uint64_t, kGdtEntryCount> BootGdt() {
  std::array<uint64_t, kGdtEntryCount> gdt{};
  gdt[kGdtNull] = 0;
  gdt[kGdtCode64] = GdtEntry(0xa09b, 0, 0xfffff);  // G, L; P, S, code r/x acc.
  gdt[kGdtData] = GdtEntry(0xc093, 0, 0xfffff);    // G, D/B; P, S, data r/w acc.
  gdt[kGdtTss] = GdtEntry(0x008b, 0, 0x67);        // P, busy 32-bit TSS.
  gdt[kGdtCode32] = GdtEntry(0xc09b, 0, 0xfffff);  // G, D/B; P, S, code r/x acc.
  return gdt;
}

absl::Status WriteGdtAndIdt(const memory::GuestMemory& mem) {
  std::array<uint64_t, kGdtEntryCount> gdt = BootGdt();
  RETURN_IF_ERROR(mem.WriteObj(memory::GuestAddress(kGdtAddr), gdt));
  return mem.WriteObj(memory::GuestAddress(kIdtAddr), uint64_t{0});
}

}  // namespace blimp::arch::x86_64

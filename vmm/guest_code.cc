#include "vmm/guest_code.h"

#include "absl/strings/str_format.h"
#include "base/status_macros.h"

namespace blimp::vmm {
namespace {

constexpr uint64_t kCr0Pg = 1ull << 31;
constexpr uint64_t kEferLma = 1ull << 10;
constexpr uint64_t kPtePresent = 1;
constexpr uint64_t kPtePageSize = 1ull << 7;
constexpr uint64_t kPteAddrMask = 0x000ffffffffff000ull;

}  // namespace

absl::StatusOr<uint64_t> TranslateGuestVirtual(const memory::GuestMemory& memory,
                                               const kvm_sregs& sregs, uint64_t gva) {
  if (!(sregs.cr0 & kCr0Pg)) return gva;  // Paging off: linear = physical.
  if (!(sregs.efer & kEferLma)) {
    return absl::UnimplementedError("32-bit paging is not walked");
  }
  uint64_t table = sregs.cr3 & kPteAddrMask;
  // Levels: PML4 (bits 39-47), PDPT (30-38), PD (21-29), PT (12-20).
  for (int shift = 39; shift >= 12; shift -= 9) {
    uint64_t index = (gva >> shift) & 0x1ff;
    ASSIGN_OR_RETURN(uint64_t entry,
                     memory.ReadObj<uint64_t>(memory::GuestAddress(table + index * 8)));
    if (!(entry & kPtePresent)) {
      return absl::NotFoundError(absl::StrFormat("%#x is not mapped", gva));
    }
    bool leaf = shift == 12 || ((shift == 30 || shift == 21) && (entry & kPtePageSize));
    if (leaf) {
      uint64_t page_mask = (1ull << shift) - 1;
      return (entry & kPteAddrMask & ~page_mask) | (gva & page_mask);
    }
    table = entry & kPteAddrMask;
  }
  return absl::InternalError("unreachable");
}

absl::StatusOr<std::vector<uint8_t>> ReadGuestCode(const memory::GuestMemory& memory,
                                                   const kvm_sregs& sregs, uint64_t gva,
                                                   size_t max) {
  std::vector<uint8_t> code;
  while (code.size() < max) {
    auto gpa = TranslateGuestVirtual(memory, sregs, gva + code.size());
    if (!gpa.ok()) break;
    auto byte = memory.ReadObj<uint8_t>(memory::GuestAddress(*gpa));
    if (!byte.ok()) break;
    code.push_back(*byte);
  }
  if (code.empty()) {
    return absl::NotFoundError(absl::StrFormat("no guest code readable at %#x", gva));
  }
  return code;
}

std::string GuessMnemonic(const std::vector<uint8_t>& code) {
  size_t i = 0;
  bool lock = false;
  // Skip legacy prefixes and REX.
  while (i < code.size() && (code[i] == 0xf0 || code[i] == 0x66 || code[i] == 0xf2 ||
                             code[i] == 0xf3 || (code[i] & 0xf0) == 0x40)) {
    lock = lock || code[i] == 0xf0;
    ++i;
  }
  if (i >= code.size()) return "unknown";
  if (code[i] == 0xcc) return "int3";
  if (code[i] != 0x0f || i + 2 >= code.size()) return "unknown";
  uint8_t op = code[i + 1];
  int reg = (code[i + 2] >> 3) & 7;
  bool rex_w = i > 0 && (code[i - 1] & 0xf8) == 0x48;
  if (op == 0xc7 && reg == 1) return std::string(lock ? "lock " : "") + (rex_w ? "cmpxchg16b" : "cmpxchg8b");
  if (op == 0xae && (code[i + 2] >> 6) != 3) {
    switch (reg) {
      case 4: return "xsave";
      case 5: return "xrstor";
      case 6: return "xsaveopt";
    }
  }
  if (op == 0x01 && code[i + 2] == 0xd0) return "xgetbv";
  if (op == 0x01 && code[i + 2] == 0xd1) return "xsetbv";
  return "unknown";
}

}  // namespace blimp::vmm

#include "arch/x86_64/page_tables.h"

#include <array>
#include <cstdint>

#include "arch/x86_64/cpu_defs.h"
#include "arch/x86_64/layout.h"
#include "base/status_macros.h"

namespace blimp::arch::x86_64 {

absl::Status WriteIdentityPageTables(const memory::GuestMemory& mem) {
  using memory::GuestAddress;
  constexpr uint64_t kTableFlags = kPtePresent | kPteWritable;
  std::array<uint64_t, 512> table{};

  table[0] = kPdptAddr | kTableFlags;
  RETURN_IF_ERROR(mem.WriteObj(GuestAddress(kPml4Addr), table));

  table = {};
  for (uint64_t i = 0; i < kPdCount; ++i) {
    table[i] = (kPdAddr + i * memory::kPageSize) | kTableFlags;
  }
  RETURN_IF_ERROR(mem.WriteObj(GuestAddress(kPdptAddr), table));

  for (uint64_t pd = 0; pd < kPdCount; ++pd) {
    for (uint64_t i = 0; i < 512; ++i) {
      uint64_t phys = (pd * 512 + i) * kPageSize2M;
      table[i] = phys | kTableFlags | kPtePageSize;
    }
    RETURN_IF_ERROR(
        mem.WriteObj(GuestAddress(kPdAddr + pd * memory::kPageSize), table));
  }
  return absl::OkStatus();
}

}  // namespace blimp::arch::x86_64

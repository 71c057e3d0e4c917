#include "arch/x86_64/page_tables.h"

#include "arch/x86_64/cpu_defs.h"
#include "arch/x86_64/layout.h"
#include "gtest/gtest.h"

namespace blimp::arch::x86_64 {
namespace {

using memory::GuestAddress;

uint64_t ReadU64(const memory::GuestMemory& mem, uint64_t addr) {
  auto value = mem.ReadObj<uint64_t>(GuestAddress(addr));
  EXPECT_TRUE(value.ok());
  return value.ok() ? *value : 0;
}

// Walks the tables like the MMU does for a 2 MiB mapping.
uint64_t Translate(const memory::GuestMemory& mem, uint64_t va) {
  uint64_t pml4e = ReadU64(mem, kPml4Addr + ((va >> 39) & 511) * 8);
  EXPECT_TRUE(pml4e & kPtePresent);
  uint64_t pdpte = ReadU64(mem, (pml4e & ~0xfffull) + ((va >> 30) & 511) * 8);
  EXPECT_TRUE(pdpte & kPtePresent);
  EXPECT_FALSE(pdpte & kPtePageSize);
  uint64_t pde = ReadU64(mem, (pdpte & ~0xfffull) + ((va >> 21) & 511) * 8);
  EXPECT_TRUE(pde & kPtePresent);
  EXPECT_TRUE(pde & kPtePageSize);
  EXPECT_TRUE(pde & kPteWritable);
  return (pde & ~(kPageSize2M - 1) & ((1ull << 52) - 1)) | (va & (kPageSize2M - 1));
}

TEST(PageTablesTest, IdentityMapsLowFourGiB) {
  auto mem = memory::GuestMemory::CreateRam(16 * kMiB);
  ASSERT_TRUE(mem.ok());
  ASSERT_TRUE(WriteIdentityPageTables(*mem).ok());
  for (uint64_t va : std::initializer_list<uint64_t>{0, 0x1000, kHimemStart, 0x1234567, 1 * kGiB + 5,
                      kVirtioMmioStart, kIoapicAddr, kLapicAddr + 0xf0,
                      4 * kGiB - 1}) {
    EXPECT_EQ(Translate(*mem, va), va) << std::hex << va;
  }
  // Exactly one PML4 entry and four PDPT entries.
  EXPECT_EQ(ReadU64(*mem, kPml4Addr + 8), 0u);
  EXPECT_EQ(ReadU64(*mem, kPdptAddr + 4 * 8), 0u);
  EXPECT_EQ(ReadU64(*mem, kPdAddr + 511 * 8), (511 * kPageSize2M) | 0x83);
}

TEST(PageTablesTest, TablesFitBelowCmdline) {
  EXPECT_LE(kPdAddr + kPdCount * memory::kPageSize, kCmdlineAddr);
  EXPECT_GT(kPml4Addr, kBootStackPointer);
  EXPECT_GE(kPml4Addr, kZeroPageAddr + 4096);
}

}  // namespace
}  // namespace blimp::arch::x86_64

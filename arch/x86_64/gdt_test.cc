#include "arch/x86_64/gdt.h"

#include "arch/x86_64/layout.h"
#include "gtest/gtest.h"

namespace blimp::arch::x86_64 {
namespace {

TEST(GdtTest, EncodesKnownDescriptors) {
  EXPECT_EQ(GdtEntry(0xa09b, 0, 0xfffff), 0x00af9b000000ffffull);
  EXPECT_EQ(GdtEntry(0xc093, 0, 0xfffff), 0x00cf93000000ffffull);
  EXPECT_EQ(GdtEntry(0xc09b, 0, 0xfffff), 0x00cf9b000000ffffull);
  EXPECT_EQ(GdtEntry(0x008b, 0, 0x67), 0x00008b0000000067ull);
  // Base bits are split across the descriptor.
  EXPECT_EQ(GdtEntry(0x0089, 0x12345678, 0xabcde), 0x120a89345678bcdeull);
}

TEST(GdtTest, BootGdtLayout) {
  auto gdt = BootGdt();
  EXPECT_EQ(gdt[kGdtNull], 0u);
  EXPECT_EQ(gdt[kGdtCode64], 0x00af9b000000ffffull);
  EXPECT_EQ(gdt[kGdtData], 0x00cf93000000ffffull);
  EXPECT_EQ(gdt[kGdtCode32], 0x00cf9b000000ffffull);
  EXPECT_EQ(Selector(kGdtCode64), 0x08);
  EXPECT_EQ(Selector(kGdtData), 0x10);
  EXPECT_EQ(Selector(kGdtTss), 0x18);
}

TEST(GdtTest, SegmentFromCode64) {
  kvm_segment seg = SegmentFromGdtEntry(0x00af9b000000ffffull, 0x08);
  EXPECT_EQ(seg.base, 0u);
  EXPECT_EQ(seg.limit, 0xffffffffu);
  EXPECT_EQ(seg.selector, 0x08);
  EXPECT_EQ(seg.type, 0xb);
  EXPECT_EQ(seg.present, 1);
  EXPECT_EQ(seg.dpl, 0);
  EXPECT_EQ(seg.db, 0);
  EXPECT_EQ(seg.s, 1);
  EXPECT_EQ(seg.l, 1);
  EXPECT_EQ(seg.g, 1);
  EXPECT_EQ(seg.unusable, 0);
}

TEST(GdtTest, SegmentFromDataAndTss) {
  kvm_segment data = SegmentFromGdtEntry(0x00cf93000000ffffull, 0x10);
  EXPECT_EQ(data.type, 3);
  EXPECT_EQ(data.db, 1);
  EXPECT_EQ(data.l, 0);
  EXPECT_EQ(data.limit, 0xffffffffu);
  kvm_segment tss = SegmentFromGdtEntry(BootGdt()[kGdtTss], 0x18);
  EXPECT_EQ(tss.type, 0xb);  // Busy 32-bit TSS, as VM entry requires.
  EXPECT_EQ(tss.s, 0);
  EXPECT_EQ(tss.g, 0);
  EXPECT_EQ(tss.limit, 0x67u);
  kvm_segment base = SegmentFromGdtEntry(GdtEntry(0x0089, 0x12345678, 0xabcde), 0);
  EXPECT_EQ(base.base, 0x12345678u);
  EXPECT_EQ(base.limit, 0xabcdeu);
}

TEST(GdtTest, WritesGdtAndIdt) {
  auto mem = memory::GuestMemory::CreateRam(2 * kMiB);
  ASSERT_TRUE(mem.ok());
  ASSERT_TRUE(mem->Write(memory::GuestAddress(kIdtAddr), "\xff\xff\xff\xff\xff\xff\xff\xff", 8).ok());
  ASSERT_TRUE(WriteGdtAndIdt(*mem).ok());
  auto gdt = mem->ReadObj<std::array<uint64_t, kGdtEntryCount>>(memory::GuestAddress(kGdtAddr));
  ASSERT_TRUE(gdt.ok());
  EXPECT_EQ(*gdt, BootGdt());
  EXPECT_EQ(*mem->ReadObj<uint64_t>(memory::GuestAddress(kIdtAddr)), 0u);
  // The GDT ends before the IDT.
  EXPECT_LE(kGdtAddr + kGdtEntryCount * 8, kIdtAddr);
}

}  // namespace
}  // namespace blimp::arch::x86_64

#include "arch/x86_64/cpu_state.h"

#include <map>

#include "arch/x86_64/cpu_defs.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/layout.h"
#include "gtest/gtest.h"

namespace blimp::arch::x86_64 {
namespace {

TEST(CpuStateTest, LongModeSregs) {
  kvm_sregs sregs{};
  sregs.apic_base = 0xfee00900;  // Kept: the caller starts from KVM_GET_SREGS.
  ConfigureLongModeSregs(&sregs);
  EXPECT_EQ(sregs.cr0, 0x80000011u);
  EXPECT_EQ(sregs.cr3, kPml4Addr);
  EXPECT_EQ(sregs.cr4, 0x20u);
  EXPECT_EQ(sregs.efer, 0x500u);
  EXPECT_EQ(sregs.apic_base, 0xfee00900u);
  EXPECT_EQ(sregs.gdt.base, kGdtAddr);
  EXPECT_EQ(sregs.gdt.limit, kGdtEntryCount * 8 - 1);
  EXPECT_EQ(sregs.idt.base, kIdtAddr);
  EXPECT_EQ(sregs.idt.limit, 7);
  EXPECT_EQ(sregs.cs.selector, 0x08);
  EXPECT_EQ(sregs.cs.l, 1);
  EXPECT_EQ(sregs.cs.db, 0);
  for (const kvm_segment* seg : {&sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss}) {
    EXPECT_EQ(seg->selector, 0x10);
    EXPECT_EQ(seg->type, 3);
    EXPECT_EQ(seg->present, 1);
  }
  EXPECT_EQ(sregs.tr.selector, 0x18);
  EXPECT_EQ(sregs.tr.type, 0xb);
}

TEST(CpuStateTest, PvhSregs) {
  kvm_sregs sregs{};
  sregs.efer = 0x500;
  sregs.cr4 = 0x20;
  ConfigurePvhSregs(&sregs);
  EXPECT_EQ(sregs.cr0, kCr0Pe | kCr0Et);
  EXPECT_EQ(sregs.cr4, 0u);
  EXPECT_EQ(sregs.efer, 0u);
  EXPECT_EQ(sregs.cs.selector, Selector(kGdtCode32));
  EXPECT_EQ(sregs.cs.l, 0);
  EXPECT_EQ(sregs.cs.db, 1);
  EXPECT_EQ(sregs.cs.base, 0u);
  EXPECT_EQ(sregs.cs.limit, 0xffffffffu);
  EXPECT_EQ(sregs.ds.db, 1);
  EXPECT_EQ(sregs.tr.limit, 0x67u);
}

TEST(CpuStateTest, Regs) {
  kvm_regs regs{};
  regs.rax = 7;
  ConfigureLinux64Regs(0x1000200, &regs);
  EXPECT_EQ(regs.rip, 0x1000200u);
  EXPECT_EQ(regs.rsi, kZeroPageAddr);
  EXPECT_EQ(regs.rflags, 2u);
  EXPECT_EQ(regs.rsp, kBootStackPointer);
  EXPECT_EQ(regs.rax, 0u);
  ConfigurePvhRegs(0x1000abc, &regs);
  EXPECT_EQ(regs.rip, 0x1000abcu);
  EXPECT_EQ(regs.rbx, kPvhStartInfoAddr);
  EXPECT_EQ(regs.rsi, 0u);
  EXPECT_EQ(regs.rflags, 2u);
}

TEST(CpuStateTest, Fpu) {
  kvm_fpu fpu;
  std::memset(&fpu, 0xff, sizeof(fpu));
  ConfigureFpu(&fpu);
  EXPECT_EQ(fpu.fcw, 0x37f);
  EXPECT_EQ(fpu.mxcsr, 0x1f80u);
  EXPECT_EQ(fpu.fsw, 0);
}

TEST(CpuStateTest, Msrs) {
  std::map<uint32_t, uint64_t> msrs;
  for (const kvm_msr_entry& e : BootMsrEntries()) {
    EXPECT_TRUE(msrs.emplace(e.index, e.data).second) << "duplicate " << e.index;
  }
  EXPECT_EQ(msrs.at(0x174), 0u);
  EXPECT_EQ(msrs.at(0x175), 0u);
  EXPECT_EQ(msrs.at(0x176), 0u);
  EXPECT_EQ(msrs.at(0xc0000081), 0u);
  EXPECT_EQ(msrs.at(0xc0000082), 0u);
  EXPECT_EQ(msrs.at(0xc0000083), 0u);
  EXPECT_EQ(msrs.at(0xc0000084), 0u);
  EXPECT_EQ(msrs.at(0xc0000102), 0u);
  EXPECT_EQ(msrs.at(0x10), 0u);
  EXPECT_EQ(msrs.at(0x1a0), 1u);
  EXPECT_EQ(msrs.at(0x277), 0x0007040600070406ull);
  EXPECT_EQ(msrs.at(0x2ff), 0x806u);
  EXPECT_EQ(msrs.count(0x10a), 0u);  // Never arch capabilities (kvm-here.md).
}

}  // namespace
}  // namespace blimp::arch::x86_64

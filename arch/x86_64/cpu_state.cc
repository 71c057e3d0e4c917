#include "arch/x86_64/cpu_state.h"

#include <array>

#include "arch/x86_64/cpu_defs.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/layout.h"

namespace blimp::arch::x86_64 {
namespace {

void SetDescriptorTables(kvm_sregs* sregs) {
  sregs->gdt.base = kGdtAddr;
  sregs->gdt.limit = kGdtEntryCount * 8 - 1;
  sregs->idt.base = kIdtAddr;
  sregs->idt.limit = 7;
}

void SetSegments(uint16_t code_index, kvm_sregs* sregs) {
  std::array<uint64_t, kGdtEntryCount> gdt = BootGdt();
  sregs->cs = SegmentFromGdtEntry(gdt[code_index], Selector(code_index));
  kvm_segment data = SegmentFromGdtEntry(gdt[kGdtData], Selector(kGdtData));
  sregs->ds = data;
  sregs->es = data;
  sregs->fs = data;
  sregs->gs = data;
  sregs->ss = data;
  sregs->tr = SegmentFromGdtEntry(gdt[kGdtTss], Selector(kGdtTss));
}

}  // namespace

void ConfigureLongModeSregs(kvm_sregs* sregs) {
  SetDescriptorTables(sregs);
  SetSegments(kGdtCode64, sregs);
  sregs->cr0 = kCr0Pe | kCr0Et | kCr0Pg;
  sregs->cr3 = kPml4Addr;
  sregs->cr4 = kCr4Pae;
  sregs->efer = kEferLme | kEferLma;
}

void ConfigurePvhSregs(kvm_sregs* sregs) {
  SetDescriptorTables(sregs);
  SetSegments(kGdtCode32, sregs);
  sregs->cr0 = kCr0Pe | kCr0Et;
  sregs->cr3 = 0;
  sregs->cr4 = 0;
  sregs->efer = 0;
}

void ConfigureLinux64Regs(uint64_t entry, kvm_regs* regs) {
  *regs = kvm_regs{};
  regs->rip = entry;
  regs->rsi = kZeroPageAddr;
  regs->rsp = kBootStackPointer;
  regs->rbp = kBootStackPointer;
  regs->rflags = kRflagsReserved;
}

void ConfigurePvhRegs(uint64_t entry, kvm_regs* regs) {
  *regs = kvm_regs{};
  regs->rip = entry;
  regs->rbx = kPvhStartInfoAddr;
  regs->rflags = kRflagsReserved;
}

void ConfigureFpu(kvm_fpu* fpu) {
  *fpu = kvm_fpu{};
  fpu->fcw = kFpuControlWordDefault;
  fpu->mxcsr = kMxcsrDefault;
}

std::vector<kvm_msr_entry> BootMsrEntries() {
  auto entry = [](uint32_t index, uint64_t data) {
    kvm_msr_entry e{};
    e.index = index;
    e.data = data;
    return e;
  };
  return {
      entry(kMsrIa32SysenterCs, 0),
      entry(kMsrIa32SysenterEsp, 0),
      entry(kMsrIa32SysenterEip, 0),
      entry(kMsrStar, 0),
      entry(kMsrLstar, 0),
      entry(kMsrCstar, 0),
      entry(kMsrSyscallMask, 0),
      entry(kMsrKernelGsBase, 0),
      entry(kMsrIa32Tsc, 0),
      entry(kMsrIa32MiscEnable, kMiscEnableFastString),
      entry(kMsrIa32Pat, kPatDefault),
      entry(kMsrMtrrDefType, kMtrrEnable | kMtrrTypeWriteBack),
  };
}

}  // namespace blimp::arch::x86_64

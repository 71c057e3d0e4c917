// Register state for entering a kernel, as the plain <linux/kvm.h> structs
// vmm/ hands to KVM_SET_SREGS / KVM_SET_REGS / KVM_SET_FPU / KVM_SET_MSRS.
// Functions modify the struct in place, so the caller starts from what
// KVM_GET_SREGS (etc.) returned and keeps the fields we do not own (APIC
// base, pending interrupts, CR8, ...).
//
// Two entry states:
//  - Linux 64-bit boot protocol (Documentation/arch/x86/boot.rst, "64-bit
//    boot protocol"): long mode, paging on with identity tables, CS = flat
//    64-bit code, other segments flat data, RSI = boot_params, IF clear.
//  - PVH (xen/include/public/arch-x86/hvm/start_info.h): 32-bit protected
//    mode, paging off, CS = flat 32-bit code, DS/ES/SS flat data, TR a
//    32-bit TSS, EBX = hvm_start_info.
#ifndef BLIMP_ARCH_X86_64_CPU_STATE_H_
#define BLIMP_ARCH_X86_64_CPU_STATE_H_

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace blimp::arch::x86_64 {

// Long mode: CR0 = PE|ET|PG, CR3 = kPml4Addr, CR4 = PAE, EFER = LME|LMA,
// GDTR/IDTR at our tables, segments from our GDT. Needs WriteGdtAndIdt and
// WriteIdentityPageTables to have run.
void ConfigureLongModeSregs(kvm_sregs* sregs);
// PVH: CR0 = PE|ET, CR3 = CR4 = EFER = 0, 32-bit flat segments.
void ConfigurePvhSregs(kvm_sregs* sregs);

// Zeroes `regs`, then RIP = entry, RSI = kZeroPageAddr, RSP = RBP =
// kBootStackPointer, RFLAGS = 2.
void ConfigureLinux64Regs(uint64_t entry, kvm_regs* regs);
// Zeroes `regs`, then RIP = entry, RBX = kPvhStartInfoAddr, RFLAGS = 2.
void ConfigurePvhRegs(uint64_t entry, kvm_regs* regs);

// Zeroes `fpu`, then FCW = 0x37f, MXCSR = 0x1f80 (every vCPU).
void ConfigureFpu(kvm_fpu* fpu);

// The MSRs to set on every vCPU before it first runs (KVM_SET_MSRS; the
// caller should check that KVM set all of them):
//   SYSENTER_CS/ESP/EIP, STAR, LSTAR, CSTAR, SYSCALL_MASK, KERNEL_GS_BASE = 0
//     (the kernel programs them; zero means no stale entry points),
//   TSC = 0: every vCPU writes 0 at creation, which KVM's TSC
//     synchronisation (writes within a second of each other) turns into one
//     shared, matched TSC across vCPUs,
//   MISC_ENABLE = fast strings (what firmware enables; Linux checks it),
//   PAT = 0x0007040600070406 (its power-on value),
//   MTRR_DEF_TYPE = enabled, default write-back: with no firmware to set
//     MTRRs, Linux would otherwise treat all RAM as uncached.
std::vector<kvm_msr_entry> BootMsrEntries();

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_CPU_STATE_H_

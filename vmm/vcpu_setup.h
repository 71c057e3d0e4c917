// Puts a fresh vCPU into its boot state: CPUID, MSRs, FPU, local APIC LINT
// pins, and for the boot processor the entry registers. Application
// processors wait for the guest's INIT/SIPI in the in-kernel LAPIC.
#ifndef BLIMP_VMM_VCPU_SETUP_H_
#define BLIMP_VMM_VCPU_SETUP_H_

#include <linux/kvm.h>

#include <vector>

#include "absl/status/status.h"
#include "arch/x86_64/boot.h"
#include "kvm/vcpu.h"

namespace blimp::vmm {

// True when /dev/kvm is PVM-based (kvm_pvm loaded): its instruction
// emulator cannot run some instructions, so CPUID hides them.
bool HostKvmIsPvm();

absl::Status ConfigureVcpu(kvm::Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& supported,
                           const arch::x86_64::BootConfig& config,
                           const arch::x86_64::BootState& boot);

}  // namespace blimp::vmm

#endif  // BLIMP_VMM_VCPU_SETUP_H_

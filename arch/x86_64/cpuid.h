// Per-vCPU CPUID tables, built from what the host's KVM supports
// (KVM_GET_SUPPORTED_CPUID): APIC ids and topology (leaves 1, 4, 0xB, 0x1F),
// the hypervisor bit, and, when asked, hiding features this project's
// PVM-based KVM cannot run (see /work/shared/kvm-here.md). Everything else,
// including KVM's signature leaves 0x40000000/0x40000001, passes through.
//
// Topology: one package; vCPU i has (x2)APIC id i; with smt two threads per
// core (ids 2c and 2c+1 are core c), else one. Matches the MADT (acpi.h).
#ifndef BLIMP_ARCH_X86_64_CPUID_H_
#define BLIMP_ARCH_X86_64_CPUID_H_

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace blimp::arch::x86_64 {

struct CpuidConfig {
  uint32_t vcpu_index = 0;
  uint32_t vcpu_count = 1;
  bool smt = false;
  // Apply PvmCpuidMasks(). vmm/ decides (e.g. when /dev/kvm is kvm_pvm).
  bool pvm_workarounds = false;
};

enum class CpuidReg { kEax, kEbx, kEcx, kEdx };

// One CPUID bit set to hide: `bits` cleared in `reg` of leaf `function`,
// subleaf `index` (kAnyCpuidIndex: every subleaf).
struct CpuidMask {
  uint32_t function;
  uint32_t index;
  CpuidReg reg;
  uint32_t bits;
  const char* reason;
};
inline constexpr uint32_t kAnyCpuidIndex = 0xffffffff;

// The features hidden under CpuidConfig::pvm_workarounds, one entry each,
// with the reason.
absl::Span<const CpuidMask> PvmCpuidMasks();

// The table for vCPU `config.vcpu_index`, for KVM_SET_CPUID2.
// InvalidArgument if vcpu_count is 0 or > kMaxVcpus, or vcpu_index is out
// of range.
absl::StatusOr<std::vector<kvm_cpuid_entry2>> BuildVcpuCpuid(
    const std::vector<kvm_cpuid_entry2>& supported, const CpuidConfig& config);

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_CPUID_H_

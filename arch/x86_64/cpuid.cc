#include "arch/x86_64/cpuid.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "arch/x86_64/layout.h"

namespace blimp::arch::x86_64 {
namespace {

// Leaf numbers and fields (Intel SDM Vol. 2A, CPUID).
constexpr uint32_t kLeafFeatures = 0x1;
constexpr uint32_t kLeafCacheParams = 0x4;
constexpr uint32_t kLeafExtFeatures = 0x7;
constexpr uint32_t kLeafTopology = 0xb;
constexpr uint32_t kLeafXsave = 0xd;
constexpr uint32_t kLeafTopologyV2 = 0x1f;
constexpr uint32_t kLeafExtFeaturesAmd = 0x80000001;

constexpr uint32_t kLeaf1EcxHypervisor = 1u << 31;
constexpr uint32_t kLeaf1EdxHtt = 1u << 28;
// Leaf 0xB/0x1F ECX[15:8] level types.
constexpr uint32_t kLevelTypeInvalid = 0;
constexpr uint32_t kLevelTypeSmt = 1;
constexpr uint32_t kLevelTypeCore = 2;

constexpr uint32_t Bit(int n) { return 1u << n; }

// Each entry: what it hides and why. The PVM-based KVM here has an
// instruction emulator (it emulates guest ring 0) that lacks some
// instructions; a guest that sees the feature uses the instruction and dies
// with KVM_EXIT_INTERNAL_ERROR (kvm-here.md).
constexpr CpuidMask kPvmMasks[] = {
    // cmpxchg16b: `lock cmpxchg16b` is not emulated (first crash measured).
    {kLeafFeatures, kAnyCpuidIndex, CpuidReg::kEcx, Bit(13), "CX16: cmpxchg16b not emulated"},
    // The xsave family: xrstor is not emulated (second crash measured).
    {kLeafFeatures, kAnyCpuidIndex, CpuidReg::kEcx, Bit(26), "XSAVE: xsave/xrstor not emulated"},
    {kLeafFeatures, kAnyCpuidIndex, CpuidReg::kEcx, Bit(27), "OSXSAVE: follows XSAVE"},
    // AVX state lives in XSAVE components; without XSAVE the OS cannot
    // enable it, and VEX-encoded FMA/F16C need AVX state.
    {kLeafFeatures, kAnyCpuidIndex, CpuidReg::kEcx, Bit(28), "AVX: needs XSAVE"},
    {kLeafFeatures, kAnyCpuidIndex, CpuidReg::kEcx, Bit(12), "FMA: needs AVX state"},
    {kLeafFeatures, kAnyCpuidIndex, CpuidReg::kEcx, Bit(29), "F16C: VEX-encoded, needs AVX state"},
    // Leaf 0xD describes XSAVE state components: all zero without XSAVE
    // (also hides XSAVEOPT/XSAVEC/XSAVES/XFD in subleaf 1).
    {kLeafXsave, kAnyCpuidIndex, CpuidReg::kEax, 0xffffffff, "leaf 0xD: no XSAVE"},
    {kLeafXsave, kAnyCpuidIndex, CpuidReg::kEbx, 0xffffffff, "leaf 0xD: no XSAVE"},
    {kLeafXsave, kAnyCpuidIndex, CpuidReg::kEcx, 0xffffffff, "leaf 0xD: no XSAVE"},
    {kLeafXsave, kAnyCpuidIndex, CpuidReg::kEdx, 0xffffffff, "leaf 0xD: no XSAVE"},
    // Leaf 7 subleaf 0 EBX: AVX2 and AVX-512 need XSAVE-managed state.
    {kLeafExtFeatures, 0, CpuidReg::kEbx, Bit(5), "AVX2: needs XSAVE"},
    {kLeafExtFeatures, 0, CpuidReg::kEbx,
     Bit(16) | Bit(17) | Bit(21) | Bit(26) | Bit(27) | Bit(28) | Bit(30) | Bit(31),
     "AVX512F/DQ/IFMA/PF/ER/CD/BW/VL: need XSAVE"},
    // Leaf 7 subleaf 0 ECX: more AVX-512, VEX/EVEX crypto forms, and PKU
    // (PKRU is XSAVE component 9).
    {kLeafExtFeatures, 0, CpuidReg::kEcx,
     Bit(1) | Bit(6) | Bit(11) | Bit(12) | Bit(14), "AVX512_VBMI/VBMI2/VNNI/BITALG/VPOPCNTDQ: need XSAVE"},
    {kLeafExtFeatures, 0, CpuidReg::kEcx, Bit(9) | Bit(10), "VAES/VPCLMULQDQ: VEX/EVEX, need AVX state"},
    {kLeafExtFeatures, 0, CpuidReg::kEcx, Bit(3) | Bit(4), "PKU/OSPKE: PKRU is XSAVE state"},
    {kLeafExtFeatures, 0, CpuidReg::kEcx, Bit(7), "CET shadow stacks: XSAVES supervisor state"},
    // Leaf 7 subleaf 0 EDX.
    {kLeafExtFeatures, 0, CpuidReg::kEdx,
     Bit(2) | Bit(3) | Bit(8) | Bit(23), "AVX512_4VNNIW/4FMAPS/VP2INTERSECT/FP16: need XSAVE"},
    {kLeafExtFeatures, 0, CpuidReg::kEdx, Bit(20), "CET IBT: XSAVES supervisor state"},
    {kLeafExtFeatures, 0, CpuidReg::kEdx, Bit(22) | Bit(24) | Bit(25), "AMX: XSAVE state (XFD)"},
    // SMAP: Linux then runs clac/stac on every user access and entry; the
    // host cannot emulate them, so each is an exit completed in user space
    // (arch/x86_64/insn). Without SMAP the kernel patches them out.
    {kLeafExtFeatures, 0, CpuidReg::kEbx, Bit(20), "SMAP: clac/stac not emulated"},
    // IA32_ARCH_CAPABILITIES (MSR 0x10a): KVM here refuses to set it, so a
    // guest must not be told it exists (QEMU needed -arch-capabilities).
    {kLeafExtFeatures, 0, CpuidReg::kEdx, Bit(29), "ARCH_CAPABILITIES: MSR 0x10a refused"},
    // Leaf 7 subleaf 1 EAX: AVX-VNNI, AVX512_BF16.
    {kLeafExtFeatures, 1, CpuidReg::kEax, Bit(4) | Bit(5), "AVX_VNNI/AVX512_BF16: need XSAVE"},
    // AMD leaf 0x80000001 ECX: XOP and FMA4 use AVX state.
    {kLeafExtFeaturesAmd, kAnyCpuidIndex, CpuidReg::kEcx, Bit(11) | Bit(16), "XOP/FMA4: need AVX state"},
};

uint32_t* Reg(kvm_cpuid_entry2& e, CpuidReg reg) {
  switch (reg) {
    case CpuidReg::kEax: return &e.eax;
    case CpuidReg::kEbx: return &e.ebx;
    case CpuidReg::kEcx: return &e.ecx;
    case CpuidReg::kEdx: return &e.edx;
  }
  return &e.eax;
}

uint32_t CeilLog2(uint32_t n) {
  uint32_t bits = 0;
  while ((1u << bits) < n) ++bits;
  return bits;
}

// Leaf 0xB / 0x1F subleaves 0 (SMT), 1 (core), 2 (invalid, ends the list).
void AppendTopologyLeaf(uint32_t function, uint32_t apic_id, uint32_t threads_per_core,
                        uint32_t smt_shift, uint32_t package_shift, uint32_t vcpu_count,
                        std::vector<kvm_cpuid_entry2>* out) {
  auto entry = [&](uint32_t index, uint32_t eax, uint32_t ebx, uint32_t type) {
    kvm_cpuid_entry2 e{};
    e.function = function;
    e.index = index;
    e.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
    e.eax = eax;
    e.ebx = ebx;
    e.ecx = (type << 8) | index;
    e.edx = apic_id;
    out->push_back(e);
  };
  entry(0, smt_shift, threads_per_core, kLevelTypeSmt);
  entry(1, package_shift, vcpu_count, kLevelTypeCore);
  entry(2, 0, 0, kLevelTypeInvalid);
}

}  // namespace

absl::Span<const CpuidMask> PvmCpuidMasks() { return kPvmMasks; }

absl::StatusOr<std::vector<kvm_cpuid_entry2>> BuildVcpuCpuid(
    const std::vector<kvm_cpuid_entry2>& supported, const CpuidConfig& config) {
  if (config.vcpu_count == 0 || config.vcpu_count > kMaxVcpus) {
    return absl::InvalidArgumentError(
        absl::StrCat("vcpu_count ", config.vcpu_count, " is not in [1, ", kMaxVcpus, "]"));
  }
  if (config.vcpu_index >= config.vcpu_count) {
    return absl::InvalidArgumentError(absl::StrCat(
        "vcpu_index ", config.vcpu_index, " >= vcpu_count ", config.vcpu_count));
  }
  const uint32_t apic_id = config.vcpu_index;
  const uint32_t threads_per_core = config.smt ? 2 : 1;
  const uint32_t smt_shift = config.smt ? 1 : 0;
  const uint32_t cores = (config.vcpu_count + threads_per_core - 1) / threads_per_core;
  const uint32_t package_shift = smt_shift + CeilLog2(cores);

  std::vector<kvm_cpuid_entry2> out;
  bool have_topology = false, have_topology_v2 = false;
  for (const kvm_cpuid_entry2& in : supported) {
    if (in.function == kLeafTopology) {
      have_topology = true;
      continue;  // Rebuilt below.
    }
    if (in.function == kLeafTopologyV2) {
      have_topology_v2 = true;
      continue;
    }
    kvm_cpuid_entry2 e = in;
    if (e.function == kLeafFeatures) {
      // EBX[31:24] initial APIC id, [23:16] logical processors per package.
      e.ebx = (e.ebx & 0x0000ffff) | (apic_id << 24) |
              (std::min<uint32_t>(config.vcpu_count, 255) << 16);
      e.ecx |= kLeaf1EcxHypervisor;
      if (config.vcpu_count > 1) {
        e.edx |= kLeaf1EdxHtt;
      } else {
        e.edx &= ~kLeaf1EdxHtt;
      }
    } else if (e.function == kLeafCacheParams) {
      // EAX[31:26] cores per package - 1, [25:14] logical processors
      // sharing this cache - 1: a core's own caches for L1/L2, all for L3+.
      uint32_t level = (e.eax >> 5) & 0x7;
      uint32_t sharing = level <= 2 ? threads_per_core : config.vcpu_count;
      e.eax &= 0x3fff;
      if ((e.eax & 0x1f) != 0) {  // Type 0: no more caches, leave it zero.
        e.eax |= (std::min<uint32_t>(cores, 64) - 1) << 26;
        e.eax |= (std::min<uint32_t>(sharing, 4096) - 1) << 14;
      }
    }
    out.push_back(e);
  }
  if (have_topology) {
    AppendTopologyLeaf(kLeafTopology, apic_id, threads_per_core, smt_shift, package_shift,
                       config.vcpu_count, &out);
  }
  if (have_topology_v2) {
    AppendTopologyLeaf(kLeafTopologyV2, apic_id, threads_per_core, smt_shift, package_shift,
                       config.vcpu_count, &out);
  }
  if (config.pvm_workarounds) {
    for (kvm_cpuid_entry2& e : out) {
      for (const CpuidMask& mask : kPvmMasks) {
        if (mask.function == e.function &&
            (mask.index == kAnyCpuidIndex || mask.index == e.index)) {
          *Reg(e, mask.reg) &= ~mask.bits;
        }
      }
    }
  }
  return out;
}

}  // namespace blimp::arch::x86_64

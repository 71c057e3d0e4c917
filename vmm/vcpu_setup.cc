#include "vmm/vcpu_setup.h"

#include <unistd.h>

#include <cstring>

#include "base/status_macros.h"
#include "glog/logging.h"

namespace blimp::vmm {
namespace {

namespace x86 = arch::x86_64;

// Local APIC register offsets and LVT delivery modes (Intel SDM vol. 3,
// 10.5.1): LINT0 takes the legacy PIC's interrupts (ExtINT), LINT1 is NMI.
constexpr size_t kApicLvtLint0 = 0x350;
constexpr size_t kApicLvtLint1 = 0x360;
constexpr uint32_t kDeliveryModeMask = 0x700;
constexpr uint32_t kDeliveryModeExtInt = 0x700;
constexpr uint32_t kDeliveryModeNmi = 0x400;

void SetDeliveryMode(kvm_lapic_state* lapic, size_t reg, uint32_t mode) {
  uint32_t value;
  std::memcpy(&value, &lapic->regs[reg], sizeof(value));
  value = (value & ~kDeliveryModeMask) | mode;
  std::memcpy(&lapic->regs[reg], &value, sizeof(value));
}

}  // namespace

bool HostKvmIsPvm() {
  static const bool pvm = [] {
    bool is_pvm = ::access("/sys/module/kvm_pvm", F_OK) == 0;
    if (is_pvm) {
      LOG(INFO) << "PVM-based KVM detected: hiding CPU features its emulator cannot run";
    }
    return is_pvm;
  }();
  return pvm;
}

absl::Status ConfigureVcpu(kvm::Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& supported,
                           const x86::BootConfig& config, const x86::BootState& boot) {
  ASSIGN_OR_RETURN(x86::VcpuBootState state,
                   x86::BuildVcpuBootState(config, supported, vcpu.id()));
  RETURN_IF_ERROR(vcpu.SetCpuid2(state.cpuid));
  RETURN_IF_ERROR(vcpu.SetMsrs(state.msrs));
  RETURN_IF_ERROR(vcpu.SetFpu(state.fpu));
  ASSIGN_OR_RETURN(kvm_lapic_state lapic, vcpu.GetLapic());
  SetDeliveryMode(&lapic, kApicLvtLint0, kDeliveryModeExtInt);
  SetDeliveryMode(&lapic, kApicLvtLint1, kDeliveryModeNmi);
  RETURN_IF_ERROR(vcpu.SetLapic(lapic));
  if (vcpu.id() != 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(kvm_sregs sregs, vcpu.GetSregs());
  x86::ConfigureBspSregs(boot, &sregs);
  RETURN_IF_ERROR(vcpu.SetSregs(sregs));
  return vcpu.SetRegs(boot.regs);
}

}  // namespace blimp::vmm

#include "vmm/snapshot/kvm_state.h"

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "glog/logging.h"

namespace blimp::vmm::snapshot {
namespace {

// The ABI size of each struct (kvm::XsaveArea is kvm::XsaveArea's C size).
template <typename T>
constexpr size_t AbiSize() {
  return sizeof(T);
}

template <typename T>
std::string ToBytes(const T& value) {
  return std::string(reinterpret_cast<const char*>(&value), AbiSize<T>());
}

template <typename T>
absl::StatusOr<T> FromBytes(const std::string& bytes, const char* what) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (bytes.size() != AbiSize<T>()) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot: ", what, " is ", bytes.size(),
                                                   " bytes, KVM's is ", AbiSize<T>()));
  }
  T value{};
  std::memcpy(&value, bytes.data(), bytes.size());
  return value;
}

constexpr uint32_t kChips[] = {KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC};

}  // namespace

absl::StatusOr<VcpuState> SaveVcpu(kvm::Vcpu& vcpu, const std::vector<uint32_t>& msr_indices) {
  VcpuState state;
  state.set_id(vcpu.id());
  ASSIGN_OR_RETURN(kvm_regs regs, vcpu.GetRegs());
  state.set_regs(ToBytes(regs));
  ASSIGN_OR_RETURN(kvm_sregs sregs, vcpu.GetSregs());
  state.set_sregs(ToBytes(sregs));
  ASSIGN_OR_RETURN(kvm::XsaveArea xsave, vcpu.GetXsave());
  state.set_xsave(ToBytes(xsave));
  ASSIGN_OR_RETURN(kvm_xcrs xcrs, vcpu.GetXcrs());
  state.set_xcrs(ToBytes(xcrs));
  ASSIGN_OR_RETURN(kvm_lapic_state lapic, vcpu.GetLapic());
  state.set_lapic(ToBytes(lapic));
  ASSIGN_OR_RETURN(kvm_mp_state mp, vcpu.GetMpState());
  state.set_mp_state(ToBytes(mp));
  ASSIGN_OR_RETURN(kvm_vcpu_events events, vcpu.GetVcpuEvents());
  state.set_events(ToBytes(events));
  ASSIGN_OR_RETURN(kvm_debugregs debugregs, vcpu.GetDebugregs());
  state.set_debugregs(ToBytes(debugregs));
  // KVM reads MSRs up to the first it refuses (one the host lacks): skip
  // that one and go on with the rest.
  std::vector<uint32_t> rest = msr_indices;
  while (!rest.empty()) {
    ASSIGN_OR_RETURN(std::vector<kvm_msr_entry> read, vcpu.GetMsrsPrefix(rest));
    for (const kvm_msr_entry& entry : read) {
      Msr* msr = state.add_msrs();
      msr->set_index(entry.index);
      msr->set_value(entry.data);
    }
    rest.erase(rest.begin(), rest.begin() + std::min(rest.size(), read.size() + 1));
  }
  return state;
}

absl::Status RestoreVcpu(kvm::Vcpu& vcpu, const VcpuState& state) {
  ASSIGN_OR_RETURN(kvm_sregs sregs, FromBytes<kvm_sregs>(state.sregs(), "sregs"));
  ASSIGN_OR_RETURN(kvm_regs regs, FromBytes<kvm_regs>(state.regs(), "regs"));
  ASSIGN_OR_RETURN(kvm::XsaveArea xsave, FromBytes<kvm::XsaveArea>(state.xsave(), "xsave"));
  ASSIGN_OR_RETURN(kvm_xcrs xcrs, FromBytes<kvm_xcrs>(state.xcrs(), "xcrs"));
  ASSIGN_OR_RETURN(kvm_lapic_state lapic, FromBytes<kvm_lapic_state>(state.lapic(), "lapic"));
  ASSIGN_OR_RETURN(kvm_mp_state mp, FromBytes<kvm_mp_state>(state.mp_state(), "mp_state"));
  ASSIGN_OR_RETURN(kvm_vcpu_events events,
                   FromBytes<kvm_vcpu_events>(state.events(), "vcpu events"));
  ASSIGN_OR_RETURN(kvm_debugregs debugregs,
                   FromBytes<kvm_debugregs>(state.debugregs(), "debugregs"));
  // The order QEMU and Firecracker use: the APIC base (in sregs) before the
  // local APIC, the local APIC before MSRs such as the TSC deadline.
  RETURN_IF_ERROR(vcpu.SetSregs(sregs));
  RETURN_IF_ERROR(vcpu.SetRegs(regs));
  RETURN_IF_ERROR(vcpu.SetXsave(xsave));
  if (xcrs.nr_xcrs > 0) RETURN_IF_ERROR(vcpu.SetXcrs(xcrs));
  RETURN_IF_ERROR(vcpu.SetLapic(lapic));
  for (const Msr& msr : state.msrs()) {
    kvm_msr_entry entry{};
    entry.index = msr.index();
    entry.data = msr.value();
    if (absl::Status set = vcpu.SetMsrs({entry}); !set.ok()) {
      LOG(WARNING) << "vCPU " << vcpu.id() << ": MSR " << std::hex << msr.index()
                   << " not restored: " << set.message();
    }
  }
  RETURN_IF_ERROR(vcpu.SetMpState(mp));
  RETURN_IF_ERROR(vcpu.SetVcpuEvents(events));
  return vcpu.SetDebugregs(debugregs);
}

absl::Status SaveVmDevices(const kvm::Vm& vm, VmState* state) {
  for (uint32_t chip_id : kChips) {
    ASSIGN_OR_RETURN(kvm_irqchip chip, vm.GetIrqchip(chip_id));
    state->add_irqchips(ToBytes(chip));
  }
  ASSIGN_OR_RETURN(kvm_pit_state2 pit, vm.GetPit2());
  state->set_pit(ToBytes(pit));
  ASSIGN_OR_RETURN(kvm_clock_data clock, vm.GetClock());
  state->set_clock(ToBytes(clock));
  return absl::OkStatus();
}

absl::Status RestoreVmDevices(kvm::Vm& vm, const VmState& state) {
  if (state.irqchips_size() != static_cast<int>(std::size(kChips))) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot: ", state.irqchips_size(), " irqchip states, expected 3"));
  }
  for (int i = 0; i < state.irqchips_size(); ++i) {
    ASSIGN_OR_RETURN(kvm_irqchip chip, FromBytes<kvm_irqchip>(state.irqchips(i), "irqchip"));
    if (chip.chip_id != kChips[i]) {
      return absl::InvalidArgumentError(absl::StrCat("snapshot: irqchip ", i, " has id ",
                                                     chip.chip_id, ", expected ", kChips[i]));
    }
    RETURN_IF_ERROR(vm.SetIrqchip(chip));
  }
  ASSIGN_OR_RETURN(kvm_pit_state2 pit, FromBytes<kvm_pit_state2>(state.pit(), "pit"));
  RETURN_IF_ERROR(vm.SetPit2(pit));
  ASSIGN_OR_RETURN(kvm_clock_data clock, FromBytes<kvm_clock_data>(state.clock(), "clock"));
  return vm.SetClock(clock);
}

}  // namespace blimp::vmm::snapshot

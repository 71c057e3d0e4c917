// KVM's part of a snapshot: each vCPU's registers, FPU, local APIC, MSRs
// and pending events, and the VM's in-kernel irqchip, PIT and clock, kept
// as KVM's ABI structs (snapshot.proto). Restoring checks each struct's size
// before KVM sees it.
#ifndef BLIMP_VMM_SNAPSHOT_KVM_STATE_H_
#define BLIMP_VMM_SNAPSHOT_KVM_STATE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"
#include "vmm/snapshot/snapshot.pb.h"

namespace blimp::vmm::snapshot {

// `msr_indices`: KVM_GET_MSR_INDEX_LIST. The vCPU must not be running.
absl::StatusOr<VcpuState> SaveVcpu(kvm::Vcpu& vcpu, const std::vector<uint32_t>& msr_indices);
// Onto a vCPU whose CPUID is set. An MSR KVM refuses is logged and skipped.
absl::Status RestoreVcpu(kvm::Vcpu& vcpu, const VcpuState& state);

// Irqchip, PIT and clock into `state`.
absl::Status SaveVmDevices(const kvm::Vm& vm, VmState* state);
absl::Status RestoreVmDevices(kvm::Vm& vm, const VmState& state);

}  // namespace blimp::vmm::snapshot

#endif  // BLIMP_VMM_SNAPSHOT_KVM_STATE_H_

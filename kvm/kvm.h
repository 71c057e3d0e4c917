// Kvm: the /dev/kvm system fd. Methods map 1:1 to the system ioctls; it
// makes VMs (kvm/vm.h), which make vCPUs (kvm/vcpu.h).
#ifndef BLIMP_KVM_KVM_H_
#define BLIMP_KVM_KVM_H_

#include <linux/kvm.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/unique_fd.h"
#include "kvm/vm.h"

namespace blimp::kvm {

// The only KVM API version there is (KVM_GET_API_VERSION).
inline constexpr int kKvmApiVersion = 12;

class Kvm {
 public:
  // Opens `path` read-write, close-on-exec. Does not check the API version.
  static absl::StatusOr<Kvm> Open(const std::string& path = "/dev/kvm");

  Kvm(Kvm&&) = default;
  Kvm& operator=(Kvm&&) = default;

  absl::StatusOr<int> GetApiVersion() const;          // KVM_GET_API_VERSION
  absl::StatusOr<int> CheckExtension(int cap) const;  // KVM_CHECK_EXTENSION
  absl::StatusOr<int> GetVcpuMmapSize() const;        // KVM_GET_VCPU_MMAP_SIZE
  // KVM_GET_SUPPORTED_CPUID, growing the buffer until it fits.
  absl::StatusOr<std::vector<kvm_cpuid_entry2>> GetSupportedCpuid() const;
  // KVM_GET_MSR_INDEX_LIST.
  absl::StatusOr<std::vector<uint32_t>> GetMsrIndexList() const;
  absl::StatusOr<Vm> CreateVm() const;                // KVM_CREATE_VM, type 0

 private:
  explicit Kvm(base::UniqueFd fd) : fd_(std::move(fd)) {}
  base::UniqueFd fd_;
};

}  // namespace blimp::kvm

#endif  // BLIMP_KVM_KVM_H_

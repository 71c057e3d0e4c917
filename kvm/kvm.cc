#include "kvm/kvm.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "base/errno_status.h"
#include "base/status_macros.h"
#include "kvm/flex_struct.h"
#include "kvm/ioctl.h"

namespace blimp::kvm {

using internal::IoctlValue;

namespace {
// KVM_GET_SUPPORTED_CPUID fails with E2BIG until the buffer is big enough;
// the CPUID leaf count is far below this.
constexpr size_t kMaxCpuidEntries = 4096;
}  // namespace

absl::StatusOr<Kvm> Kvm::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return base::ErrnoStatus(absl::StrCat("open ", path));
  return Kvm(base::UniqueFd(fd));
}

absl::StatusOr<int> Kvm::GetApiVersion() const {
  return IoctlValue(fd_, KVM_GET_API_VERSION, "KVM_GET_API_VERSION");
}

absl::StatusOr<int> Kvm::CheckExtension(int cap) const {
  return IoctlValue(fd_, KVM_CHECK_EXTENSION, "KVM_CHECK_EXTENSION",
                    static_cast<unsigned long>(cap));
}

absl::StatusOr<int> Kvm::GetVcpuMmapSize() const {
  return IoctlValue(fd_, KVM_GET_VCPU_MMAP_SIZE, "KVM_GET_VCPU_MMAP_SIZE");
}

absl::StatusOr<std::vector<kvm_cpuid_entry2>> Kvm::GetSupportedCpuid() const {
  for (size_t capacity = 64; capacity <= kMaxCpuidEntries; capacity *= 2) {
    internal::FlexStruct<internal::Cpuid2Header, kvm_cpuid_entry2> cpuid(
        capacity);
    cpuid.header()->nent = static_cast<uint32_t>(capacity);
    int err = 0;
    // SAFETY: `cpuid` holds a kvm_cpuid2 with room for nent entries, which
    // the kernel fills and then lowers nent to the count written.
    if (internal::IoctlPtrRaw(fd_, internal::kKvmGetSupportedCpuid,
                              cpuid.data(), &err) < 0) {
      if (err == E2BIG) continue;
      return base::ErrnoStatus("KVM_GET_SUPPORTED_CPUID", err);
    }
    uint32_t count = cpuid.header()->nent;
    if (count > capacity) {
      return absl::InternalError("KVM_GET_SUPPORTED_CPUID: nent grew");
    }
    return std::vector<kvm_cpuid_entry2>(cpuid.entries(),
                                         cpuid.entries() + count);
  }
  return base::ErrnoStatus("KVM_GET_SUPPORTED_CPUID", E2BIG);
}

absl::StatusOr<std::vector<uint32_t>> Kvm::GetMsrIndexList() const {
  // The first call, with room for nothing, fails with E2BIG and reports the
  // count in nmsrs.
  internal::FlexStruct<internal::MsrListHeader, uint32_t> probe(0);
  int err = 0;
  // SAFETY: `probe` is a kvm_msr_list with nmsrs = 0: the kernel writes only
  // the header.
  if (internal::IoctlPtrRaw(fd_, internal::kKvmGetMsrIndexList, probe.data(),
                            &err) < 0 &&
      err != E2BIG) {
    return base::ErrnoStatus("KVM_GET_MSR_INDEX_LIST", err);
  }
  uint32_t capacity = probe.header()->nmsrs;
  internal::FlexStruct<internal::MsrListHeader, uint32_t> list(capacity);
  list.header()->nmsrs = capacity;
  // SAFETY: `list` is a kvm_msr_list with room for nmsrs indices.
  RETURN_IF_ERROR(internal::IoctlPtr(fd_, internal::kKvmGetMsrIndexList,
                                     "KVM_GET_MSR_INDEX_LIST", list.data())
                      .status());
  uint32_t count = std::min(list.header()->nmsrs, capacity);
  return std::vector<uint32_t>(list.entries(), list.entries() + count);
}

absl::StatusOr<Vm> Kvm::CreateVm() const {
  ASSIGN_OR_RETURN(int fd, IoctlValue(fd_, KVM_CREATE_VM, "KVM_CREATE_VM"));
  return Vm(base::UniqueFd(fd));
}

}  // namespace blimp::kvm

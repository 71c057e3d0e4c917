// The one door to ioctl(2) for kvm/: every wrapper class calls these helpers,
// which turn a failed ioctl into an absl::Status naming the ioctl and errno.
// Internal to kvm/; not part of the public API.
#ifndef BLIMP_KVM_IOCTL_H_
#define BLIMP_KVM_IOCTL_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "base/unique_fd.h"

namespace blimp::kvm::internal {

// ioctl(fd, request, value) for ioctls whose argument is an integer (or none:
// pass 0). Returns the ioctl's non-negative result, or "name: strerror".
absl::StatusOr<int> IoctlValue(const base::UniqueFd& fd, unsigned long request,
                               const char* name, unsigned long value = 0);

// ioctl(fd, request, arg) for ioctls that read or write `*arg`. The caller
// guarantees (in a SAFETY comment) that `arg` points at the struct the ioctl
// expects, with room for everything the kernel writes.
absl::StatusOr<int> IoctlPtr(const base::UniqueFd& fd, unsigned long request,
                             const char* name, void* arg);

// Same as IoctlPtr, but reports errno instead of building a Status, for the
// callers that treat some errno as an outcome (KVM_RUN's EINTR, E2BIG while
// sizing a list). Returns the result, or -1 with `*err` set.
int IoctlPtrRaw(const base::UniqueFd& fd, unsigned long request, void* arg,
                int* err);

}  // namespace blimp::kvm::internal

#endif  // BLIMP_KVM_IOCTL_H_

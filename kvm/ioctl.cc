#include "kvm/ioctl.h"

#include <sys/ioctl.h>

#include <cerrno>

#include "base/errno_status.h"

namespace blimp::kvm::internal {

absl::StatusOr<int> IoctlValue(const base::UniqueFd& fd, unsigned long request,
                               const char* name, unsigned long value) {
  int ret = ::ioctl(fd.get(), request, value);
  if (ret < 0) return base::ErrnoStatus(name);
  return ret;
}

absl::StatusOr<int> IoctlPtr(const base::UniqueFd& fd, unsigned long request,
                             const char* name, void* arg) {
  int err = 0;
  int ret = IoctlPtrRaw(fd, request, arg, &err);
  if (ret < 0) return base::ErrnoStatus(name, err);
  return ret;
}

int IoctlPtrRaw(const base::UniqueFd& fd, unsigned long request, void* arg,
                int* err) {
  // SAFETY: the caller guarantees `arg` points at the struct `request`
  // expects (see the declaration); the kernel checks the fd.
  int ret = ::ioctl(fd.get(), request, arg);
  *err = ret < 0 ? errno : 0;
  return ret;
}

}  // namespace blimp::kvm::internal

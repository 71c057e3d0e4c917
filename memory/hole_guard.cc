#include "memory/hole_guard.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/errno_status.h"

namespace blimp::memory {

absl::StatusOr<HoleGuard> HoleGuard::Create() {
  // User-mode-only faults need no privilege (vm.unprivileged_userfaultfd=0
  // still allows it), and no fault is ever delivered anyway.
  int fd = static_cast<int>(
      ::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY));
  if (fd < 0) return base::ErrnoStatus("userfaultfd");
  base::UniqueFd owned(fd);
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = UFFD_FEATURE_PAGEFAULT_FLAG_WP;
  // SAFETY: UFFDIO_API reads and writes exactly one uffdio_api.
  if (::ioctl(owned.get(), UFFDIO_API, &api) < 0) {
    return base::ErrnoStatus("UFFDIO_API (write-protect)");
  }
  return HoleGuard(std::move(owned));
}

absl::Status HoleGuard::Cover(uint8_t* data, size_t size) const {
  uffdio_register reg{};
  reg.range.start = reinterpret_cast<uintptr_t>(data);
  reg.range.len = size;
  reg.mode = UFFDIO_REGISTER_MODE_WP;
  // SAFETY: UFFDIO_REGISTER reads and writes one uffdio_register; the range
  // is a mapping the caller owns and that outlives the registration.
  if (::ioctl(fd_.get(), UFFDIO_REGISTER, &reg) < 0) {
    return base::ErrnoStatus("UFFDIO_REGISTER (write-protect)");
  }
  return absl::OkStatus();
}

}  // namespace blimp::memory

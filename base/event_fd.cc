#include "base/event_fd.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "base/errno_status.h"

namespace blimp::base {

absl::StatusOr<EventFd> EventFd::Create() {
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return ErrnoStatus("eventfd");
  return EventFd(UniqueFd(fd));
}

absl::Status EventFd::Write(uint64_t value) {
  ssize_t n = ::write(fd_.get(), &value, sizeof(value));
  if (n != sizeof(value)) return ErrnoStatus("eventfd write");
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> EventFd::Read() {
  uint64_t value = 0;
  ssize_t n = ::read(fd_.get(), &value, sizeof(value));
  if (n == sizeof(value)) return value;
  if (n < 0 && errno == EAGAIN) return 0;
  return ErrnoStatus("eventfd read");
}

}  // namespace blimp::base

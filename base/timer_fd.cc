#include "base/timer_fd.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include "base/errno_status.h"

namespace blimp::base {
absl::StatusOr<TimerFd> TimerFd::Create() {
  int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) return ErrnoStatus("timerfd_create");
  return TimerFd(UniqueFd(fd));
}

absl::Status TimerFd::Arm(absl::Duration first, absl::Duration period) {
  if (first <= absl::ZeroDuration()) first = absl::Nanoseconds(1);  // 0 disarms.
  itimerspec spec{};
  spec.it_value = absl::ToTimespec(first);
  spec.it_interval = absl::ToTimespec(period);
  if (::timerfd_settime(fd_.get(), 0, &spec, nullptr) < 0) {
    return ErrnoStatus("timerfd_settime");
  }
  return absl::OkStatus();
}

absl::Status TimerFd::Disarm() {
  itimerspec spec{};
  if (::timerfd_settime(fd_.get(), 0, &spec, nullptr) < 0) {
    return ErrnoStatus("timerfd_settime");
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> TimerFd::Read() {
  uint64_t expirations = 0;
  ssize_t n = ::read(fd_.get(), &expirations, sizeof(expirations));
  if (n == sizeof(expirations)) return expirations;
  if (n < 0 && errno == EAGAIN) return 0;
  return ErrnoStatus("timerfd read");
}

}  // namespace blimp::base

// TimerFd: a monotonic timerfd for the event loop (one-shot or periodic).
#ifndef BLIMP_BASE_TIMER_FD_H_
#define BLIMP_BASE_TIMER_FD_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"

namespace blimp::base {

class TimerFd {
 public:
  static absl::StatusOr<TimerFd> Create();

  // Fires after `first`, then every `period` (zero period = one-shot).
  absl::Status Arm(absl::Duration first, absl::Duration period);
  absl::Status Disarm();
  // Expirations since the last read (0 if none), clearing readiness.
  absl::StatusOr<uint64_t> Read();

  int fd() const { return fd_.get(); }

 private:
  explicit TimerFd(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace blimp::base

#endif  // BLIMP_BASE_TIMER_FD_H_

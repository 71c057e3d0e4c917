// EventFd: a counter the kernel can signal (KVM irqfd/ioeventfd) and an
// event loop can wait on.
#ifndef BLIMP_BASE_EVENT_FD_H_
#define BLIMP_BASE_EVENT_FD_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "base/unique_fd.h"

namespace blimp::base {

class EventFd {
 public:
  // A non-blocking, close-on-exec eventfd starting at 0.
  static absl::StatusOr<EventFd> Create();

  // Adds `value` to the counter, waking any waiter.
  absl::Status Write(uint64_t value = 1);
  // Returns the counter and resets it to 0; 0 if nothing was signalled.
  absl::StatusOr<uint64_t> Read();

  int fd() const { return fd_.get(); }

 private:
  explicit EventFd(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace blimp::base

#endif  // BLIMP_BASE_EVENT_FD_H_

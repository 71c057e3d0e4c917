#include "base/unique_fd.h"

#include <unistd.h>

namespace blimp::base {

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0 && fd_ != fd) {
    // close() releases the fd even when it reports EINTR on Linux, so it is
    // never retried.
    ::close(fd_);
  }
  fd_ = fd;
}

}  // namespace blimp::base

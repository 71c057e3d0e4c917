// Turns the errno of a failed syscall into an absl::Status, at the call site.
#ifndef BLIMP_BASE_ERRNO_STATUS_H_
#define BLIMP_BASE_ERRNO_STATUS_H_

#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace blimp::base {

// "what: strerror(errno)" with the code absl::ErrnoToStatus picks.
inline absl::Status ErrnoStatus(absl::string_view what, int err = errno) {
  return absl::ErrnoToStatus(err, what);
}

}  // namespace blimp::base

#endif  // BLIMP_BASE_ERRNO_STATUS_H_

// write(2) until everything is written: retries short writes and EINTR.
#ifndef BLIMP_BASE_WRITE_ALL_H_
#define BLIMP_BASE_WRITE_ALL_H_

#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace blimp::base {

// False on an error or a zero-length write (the rest was not written).
inline bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace blimp::base

#endif  // BLIMP_BASE_WRITE_ALL_H_

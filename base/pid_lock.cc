#include "base/pid_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/errno_status.h"

namespace blimp::base {
namespace {

std::optional<pid_t> ReadPid(int fd) {
  char buffer[32];
  ssize_t n = ::pread(fd, buffer, sizeof(buffer) - 1, 0);
  if (n <= 0) return std::nullopt;
  // The first line: the holder may append its own records after it.
  absl::string_view text(buffer, static_cast<size_t>(n));
  text = text.substr(0, text.find('\n'));
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &pid) ||
      pid <= 0) {
    return std::nullopt;
  }
  return pid;
}

}  // namespace

absl::StatusOr<UniqueFd> LockPidFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return ErrnoStatus(absl::StrCat("open ", path));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) {
    if (errno != EWOULDBLOCK) return ErrnoStatus(absl::StrCat("flock ", path));
    std::optional<pid_t> holder = ReadPid(fd.get());
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is locked by ", holder ? absl::StrCat("pid ", *holder) : "another process"));
  }
  const std::string pid = absl::StrCat(::getpid(), "\n");
  if (::ftruncate(fd.get(), 0) < 0 ||
      ::pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return ErrnoStatus(absl::StrCat("write ", path));
  }
  return fd;
}

bool PidFileLocked(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return false;
  return ::flock(fd.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

}  // namespace blimp::base

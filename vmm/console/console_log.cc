#include "vmm/console/console_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "base/errno_status.h"
#include "base/write_all.h"
#include "glog/logging.h"

namespace blimp::vmm {
namespace {

absl::StatusOr<base::UniqueFd> OpenOwnerOnly(const std::string& path, int flags) {
  base::UniqueFd fd(::open(path.c_str(), flags | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return base::ErrnoStatus(absl::StrCat("open ", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return base::ErrnoStatus(absl::StrCat("fstat ", path));
  if (!S_ISREG(st.st_mode)) return absl::InvalidArgumentError(path + " is not a regular file");
  return fd;
}

}  // namespace

absl::StatusOr<ConsoleLog> ConsoleLog::Open(const std::string& path, uint64_t max_bytes,
                                            std::shared_ptr<ConsoleCounters> counters) {
  if (max_bytes == 0) {
    return absl::InvalidArgumentError("the console log cap must be at least 1 byte");
  }
  if (counters == nullptr) counters = std::make_shared<ConsoleCounters>();
  ConsoleLog log(path, max_bytes, std::move(counters));
  absl::StatusOr<base::UniqueFd> current = OpenOwnerOnly(path, O_RDWR | O_APPEND);
  if (!current.ok()) return current.status();
  absl::StatusOr<base::UniqueFd> previous = OpenOwnerOnly(path + ".1", O_WRONLY);
  if (!previous.ok()) return previous.status();
  struct stat st;
  if (::fstat(current->get(), &st) != 0) return base::ErrnoStatus(absl::StrCat("fstat ", path));
  log.current_ = *std::move(current);
  log.previous_ = *std::move(previous);
  log.size_ = static_cast<uint64_t>(st.st_size);
  return log;
}

void ConsoleLog::Append(const char* data, size_t size) {
  while (size > 0 && current_.valid()) {
    if (size_ >= max_bytes_) {
      if (!Rotate()) return;
      continue;
    }
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(size, max_bytes_ - size_));
    if (!base::WriteAll(current_.get(), data, chunk)) {
      StopLogging("write");
      return;
    }
    size_ += chunk;
    counters_->bytes_logged += chunk;
    data += chunk;
    size -= chunk;
  }
}

bool ConsoleLog::Rotate() {
  if (::ftruncate(previous_.get(), 0) != 0 || ::lseek(previous_.get(), 0, SEEK_SET) < 0) {
    StopLogging("truncate .1");
    return false;
  }
  char buffer[64 * 1024];
  for (off_t offset = 0;;) {
    ssize_t n = ::pread(current_.get(), buffer, sizeof(buffer), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      StopLogging("read");
      return false;
    }
    if (n == 0) break;
    if (!base::WriteAll(previous_.get(), buffer, static_cast<size_t>(n))) {
      StopLogging("write .1");
      return false;
    }
    offset += n;
  }
  if (::ftruncate(current_.get(), 0) != 0) {
    StopLogging("truncate");
    return false;
  }
  size_ = 0;
  ++counters_->rotations;
  return true;
}

void ConsoleLog::StopLogging(const std::string& why) {
  PLOG(WARNING) << "console log " << path_ << ": " << why << " failed; output is no longer logged";
  current_.Reset();
  previous_.Reset();
}

}  // namespace blimp::vmm

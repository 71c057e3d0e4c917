#include "daemon/sparse_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/errno_status.h"
#include "base/status_macros.h"
#include "base/unique_fd.h"

namespace blimp::daemon {
namespace {

constexpr uint64_t kCopyChunk = 1 << 20;

absl::Status CopyRange(int from, int to, uint64_t offset, uint64_t length,
                       std::vector<char>& buffer) {
  while (length > 0) {
    const size_t want = length < buffer.size() ? length : buffer.size();
    const ssize_t got = ::pread(from, buffer.data(), want, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return base::ErrnoStatus("pread");
    if (got == 0) return absl::DataLossError(absl::StrCat("file shrank while copied at ", offset));
    RETURN_IF_ERROR(WriteAt(to, buffer.data(), got, offset));
    offset += got;
    length -= got;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteAt(int fd, const char* data, size_t size, uint64_t offset) {
  while (size > 0) {
    const ssize_t put = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return base::ErrnoStatus("pwrite");
    data += put;
    size -= put;
    offset += put;
  }
  return absl::OkStatus();
}

absl::Status ForEachDataRange(int fd,
                              const std::function<absl::Status(uint64_t, uint64_t)>& range) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return base::ErrnoStatus("fstat");
  const off_t size = st.st_size;
  off_t offset = 0;
  while (offset < size) {
    const off_t data = ::lseek(fd, offset, SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // Only a hole is left.
    if (data < 0) return base::ErrnoStatus("lseek SEEK_DATA");
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return base::ErrnoStatus("lseek SEEK_HOLE");
    if (hole > size) hole = size;
    RETURN_IF_ERROR(range(static_cast<uint64_t>(data), static_cast<uint64_t>(hole - data)));
    offset = hole;
  }
  return absl::OkStatus();
}

absl::Status CopySparse(const std::string& from, const std::string& to, uid_t owner) {
  base::UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return base::ErrnoStatus(absl::StrCat("open '", from, "'"));
  base::UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!out.valid()) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat("'", to, "' exists; it is never replaced"));
    }
    return base::ErrnoStatus(absl::StrCat("create '", to, "'"));
  }
  struct stat st;
  std::vector<char> buffer(kCopyChunk);
  absl::Status status = ::fstat(in.get(), &st) == 0 ? absl::OkStatus() : base::ErrnoStatus("fstat");
  if (status.ok()) {
    status = ForEachDataRange(in.get(), [&](uint64_t offset, uint64_t length) {
      return CopyRange(in.get(), out.get(), offset, length, buffer);
    });
  }
  if (status.ok() && ::ftruncate(out.get(), st.st_size) != 0) status = base::ErrnoStatus("ftruncate");
  if (status.ok() && owner != static_cast<uid_t>(-1) && ::fchown(out.get(), owner, owner) != 0) {
    status = base::ErrnoStatus("fchown");
  }
  if (status.ok() && ::fsync(out.get()) != 0) status = base::ErrnoStatus("fsync");
  if (!status.ok()) {
    ::unlink(to.c_str());
    return absl::Status(status.code(),
                        absl::StrCat("copy '", from, "' to '", to, "': ", status.message()));
  }
  return absl::OkStatus();
}

absl::Status MoveFile(const std::string& from, const std::string& to) {
  if (::link(from.c_str(), to.c_str()) == 0) {
    if (::chown(to.c_str(), ::geteuid(), ::getegid()) != 0) {
      absl::Status status = base::ErrnoStatus(absl::StrCat("chown '", to, "'"));
      ::unlink(to.c_str());
      return status;
    }
    ::unlink(from.c_str());
    return absl::OkStatus();
  }
  if (errno == EEXIST) {
    return absl::AlreadyExistsError(absl::StrCat("'", to, "' exists; it is never replaced"));
  }
  if (errno != EXDEV) return base::ErrnoStatus(absl::StrCat("link '", from, "' to '", to, "'"));
  RETURN_IF_ERROR(CopySparse(from, to));
  ::unlink(from.c_str());
  return absl::OkStatus();
}

}  // namespace blimp::daemon

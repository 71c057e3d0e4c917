#include "arch/x86_64/image_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace blimp::arch::x86_64 {

absl::StatusOr<ImageFile> ImageFile::Open(const std::string& path,
                                          const std::string& what) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat("no ", what, " path given"));
  if (path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", absl::CEscape(path), "': contains a NUL byte"));
  }
  // O_NONBLOCK: a FIFO must not hang the VMM in open() (it is refused below);
  // reads of a regular file ignore the flag.
  base::UniqueFd fd(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " '", path, "': cannot open: ", std::strerror(errno)));
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", path, "': cannot stat: ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", path, "': not a regular file"));
  }
  if (st.st_size == 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, " '", path, "': file is empty"));
  }
  return ImageFile(std::move(fd), path, what, static_cast<uint64_t>(st.st_size));
}

absl::Status ImageFile::Error(const std::string& message) const {
  return absl::InvalidArgumentError(absl::StrCat(what_, " '", path_, "': ", message));
}

absl::Status ImageFile::ReadAt(uint64_t offset, void* dst, uint64_t len) const {
  if (offset > size_ || len > size_ - offset) {
    return Error(absl::StrCat("read of ", len, " bytes at offset ", offset,
                              " runs past the end of the file (", size_, " bytes)"));
  }
  auto* out = static_cast<uint8_t*>(dst);
  while (len > 0) {
    ssize_t n = pread(fd_.get(), out, len, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error(absl::StrCat("read failed: ", std::strerror(errno)));
    if (n == 0) return Error("file shrank while being read");
    out += n;
    offset += static_cast<uint64_t>(n);
    len -= static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status ImageFile::ReadIntoGuest(const memory::GuestMemory& mem,
                                      memory::GuestAddress addr, uint64_t offset,
                                      uint64_t len) const {
  if (len == 0) return absl::OkStatus();
  absl::StatusOr<uint8_t*> host = mem.HostAddress(addr, len);
  if (!host.ok()) {
    return Error(absl::StrCat("guest range [", absl::Hex(addr.value()), ", +",
                              absl::Hex(len), ") is outside guest RAM"));
  }
  return ReadAt(offset, *host, len);
}

}  // namespace blimp::arch::x86_64

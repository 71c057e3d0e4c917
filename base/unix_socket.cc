#include "base/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/errno_status.h"

namespace blimp::base {
namespace {

absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", path));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

}  // namespace

absl::StatusOr<UniqueFd> ListenUnix(const std::string& path) {
  absl::StatusOr<sockaddr_un> address = UnixAddress(path);
  if (!address.ok()) return address.status();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus("socket");
  // The socket inode's mode is what bind gives the file (minus the umask).
  if (::fchmod(fd.get(), 0600) < 0) return ErrnoStatus("fchmod socket");
  ::unlink(path.c_str());
  // SAFETY: `address` is a sockaddr_un of the size passed.
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof(*address)) < 0) {
    return ErrnoStatus(absl::StrCat("bind ", path));
  }
  if (::chmod(path.c_str(), 0600) < 0) return ErrnoStatus(absl::StrCat("chmod ", path));
  if (::listen(fd.get(), 16) < 0) return ErrnoStatus(absl::StrCat("listen ", path));
  return fd;
}

absl::StatusOr<UniqueFd> ConnectUnix(const std::string& path) {
  absl::StatusOr<sockaddr_un> address = UnixAddress(path);
  if (!address.ok()) return address.status();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus("socket");
  // SAFETY: `address` is a sockaddr_un of the size passed.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof(*address)) < 0) {
    return ErrnoStatus(absl::StrCat("connect ", path));
  }
  return fd;
}

}  // namespace blimp::base

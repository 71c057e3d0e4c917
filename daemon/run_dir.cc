#include "daemon/run_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/errno_status.h"
#include "glog/logging.h"

namespace blimp::daemon {
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

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  return names;
}

}  // namespace

absl::StatusOr<base::UniqueFd> LockRunDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) {
    return base::ErrnoStatus(absl::StrCat("mkdir ", dir));
  }
  std::string path = absl::StrCat(dir, "/", kLockFile);
  base::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return base::ErrnoStatus(absl::StrCat("open ", path));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat("another blimpd is running on ", dir, " (", path, " is locked)"));
    }
    return base::ErrnoStatus(absl::StrCat("flock ", path));
  }
  return fd;
}

int RemoveStaleSockets(const std::string& dir) {
  int removed = 0;
  for (const std::string& name : ListDir(dir)) {
    std::string path = absl::StrCat(dir, "/", name);
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0) continue;
    std::vector<std::string> candidates;
    if (S_ISSOCK(st.st_mode)) {
      candidates.push_back(path);
    } else if (S_ISDIR(st.st_mode)) {
      for (const std::string& inner : ListDir(path)) {
        candidates.push_back(absl::StrCat(path, "/", inner));
      }
    }
    for (const std::string& candidate : candidates) {
      struct stat cst;
      if (::lstat(candidate.c_str(), &cst) == 0 && S_ISSOCK(cst.st_mode) &&
          ::unlink(candidate.c_str()) == 0) {
        LOG(INFO) << "removed stale socket " << candidate;
        ++removed;
      }
    }
  }
  return removed;
}

absl::Status RemoveTree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return base::ErrnoStatus(absl::StrCat("lstat ", path));
  }
  if (S_ISDIR(st.st_mode)) {
    for (const std::string& name : ListDir(path)) {
      absl::Status status = RemoveTree(absl::StrCat(path, "/", name));
      if (!status.ok()) return status;
    }
    if (::rmdir(path.c_str()) < 0) return base::ErrnoStatus(absl::StrCat("rmdir ", path));
    return absl::OkStatus();
  }
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) {
    return base::ErrnoStatus(absl::StrCat("unlink ", path));
  }
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, absl::string_view contents, int mode) {
  ::unlink(path.c_str());
  base::UniqueFd fd(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd.valid()) return base::ErrnoStatus(absl::StrCat("create ", path));
  while (!contents.empty()) {
    ssize_t n = ::write(fd.get(), contents.data(), contents.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return base::ErrnoStatus(absl::StrCat("write ", path));
    }
    contents.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::StatusOr<base::UniqueFd> ListenUnix(const std::string& path) {
  absl::StatusOr<sockaddr_un> address = UnixAddress(path);
  if (!address.ok()) return address.status();
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return base::ErrnoStatus("socket");
  // The socket inode's mode is what bind gives the file (minus the umask).
  if (::fchmod(fd.get(), 0600) < 0) return base::ErrnoStatus("fchmod socket");
  ::unlink(path.c_str());
  // SAFETY: `address` is a sockaddr_un of the size passed.
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof(*address)) < 0) {
    return base::ErrnoStatus(absl::StrCat("bind ", path));
  }
  if (::chmod(path.c_str(), 0600) < 0) return base::ErrnoStatus(absl::StrCat("chmod ", path));
  if (::listen(fd.get(), 16) < 0) return base::ErrnoStatus(absl::StrCat("listen ", path));
  return fd;
}

absl::StatusOr<base::UniqueFd> ConnectUnix(const std::string& path) {
  absl::StatusOr<sockaddr_un> address = UnixAddress(path);
  if (!address.ok()) return address.status();
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return base::ErrnoStatus("socket");
  // SAFETY: `address` is a sockaddr_un of the size passed.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof(*address)) < 0) {
    return base::ErrnoStatus(absl::StrCat("connect ", path));
  }
  return fd;
}

}  // namespace blimp::daemon

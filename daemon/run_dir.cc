#include "daemon/run_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "base/errno_status.h"
#include "base/pid_lock.h"
#include "glog/logging.h"
#include "vmm/control/instance_lock.h"

namespace blimp::daemon {
namespace {

// Makes `dir` (0700) or checks that the existing one is a real directory of
// ours, and forces its mode to 0700 through an fd (no path race).
absl::Status PrepareOwnDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) {
    return base::ErrnoStatus(absl::StrCat("mkdir ", dir));
  }
  base::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    const int open_errno = errno;
    struct stat st;
    if (::lstat(dir.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(dir, " is a symlink: the run directory and its vms/ folder must be "
                            "real directories owned by blimpd's user"));
    }
    if (open_errno == ENOTDIR) {
      return absl::FailedPreconditionError(absl::StrCat(dir, " exists and is not a directory"));
    }
    errno = open_errno;
    return base::ErrnoStatus(absl::StrCat("open ", dir));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return base::ErrnoStatus(absl::StrCat("fstat ", dir));
  if (st.st_uid != ::geteuid()) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " is owned by uid ", st.st_uid, ", not by blimpd's uid ", ::geteuid()));
  }
  if ((st.st_mode & 07777) != 0700) {
    if (::fchmod(fd.get(), 0700) < 0) return base::ErrnoStatus(absl::StrCat("chmod 0700 ", dir));
    LOG(WARNING) << dir << " had mode " << absl::StrFormat("%04o", st.st_mode & 07777)
                 << ", now 0700";
  }
  return absl::OkStatus();
}

}  // namespace

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

std::string VmDir(absl::string_view run_dir, absl::string_view vm_id) {
  return absl::StrCat(run_dir, "/", kVmsDir, "/", vm_id);
}

absl::StatusOr<base::UniqueFd> LockRunDir(const std::string& dir) {
  RETURN_IF_ERROR(PrepareOwnDir(dir));
  RETURN_IF_ERROR(PrepareOwnDir(absl::StrCat(dir, "/", kVmsDir)));
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
  std::vector<std::string> candidates = {absl::StrCat(dir, "/", kGrpcSocket),
                                         absl::StrCat(dir, "/", kHttpSocket)};
  const std::string vms = absl::StrCat(dir, "/", kVmsDir);
  for (const std::string& id : ListDir(vms)) {
    const std::string vm_dir = absl::StrCat(vms, "/", id);
    struct stat st;
    if (::lstat(vm_dir.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) continue;
    // A live blimp-vmm serves these: it is to be adopted, not cleaned up.
    const std::string control = absl::StrCat(vm_dir, "/", kControlSocket);
    if (base::PidFileLocked(vmm::control::ControlSocketLock(control))) continue;
    for (const char* name : {kControlSocket, kConsoleSocket, kVmRestSocket}) {
      candidates.push_back(absl::StrCat(vm_dir, "/", name));
    }
  }
  int removed = 0;
  for (const std::string& candidate : candidates) {
    struct stat st;
    if (::lstat(candidate.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
        ::unlink(candidate.c_str()) == 0) {
      LOG(INFO) << "removed stale socket " << candidate;
      ++removed;
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

}  // namespace blimp::daemon

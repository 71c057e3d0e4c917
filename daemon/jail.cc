#include "daemon/jail.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/errno_status.h"
#include "base/unique_fd.h"

namespace blimp::daemon {
namespace {

// Folders of the host the dynamic loader and the libraries live in. On a
// merged-/usr system /lib and /lib64 are symlinks into /usr; they are made
// the same links in the jail.
constexpr const char* kLibraryPaths[] = {"/lib", "/lib64", "/usr/lib", "/usr/lib64"};
constexpr const char* kLoaderCache = "/etc/ld.so.cache";
// blimp-vmm asks whether the host KVM is PVM-based (vmm/vcpu_setup.cc).
constexpr const char* kPvmModule = "/sys/module/kvm_pvm";

constexpr unsigned long kReadOnly = MS_RDONLY | MS_NOSUID | MS_NODEV;
constexpr unsigned long kReadWrite = MS_NOSUID | MS_NODEV | MS_NOEXEC;

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

absl::StatusOr<JailPlan> JailPlan::For(const JailConfig& config) {
  if (config.uid == 0 || config.gid == 0) {
    return absl::InvalidArgumentError("a jailed blimp-vmm never runs as uid or gid 0");
  }
  for (const std::string& path : config.read_only) {
    if (!absl::StartsWith(path, "/")) {
      return absl::InvalidArgumentError(absl::StrCat("jail path '", path, "' is not absolute"));
    }
    if (!Exists(path)) return absl::NotFoundError(absl::StrCat("jail path '", path, "' is missing"));
  }
  if (!absl::StartsWith(config.vm_dir, "/") || !absl::StartsWith(config.root_mountpoint, "/")) {
    return absl::InvalidArgumentError("the VM folder and the jail root must be absolute");
  }
  JailPlan plan;
  plan.config_ = config;
  for (const char* path : kLibraryPaths) {
    char link[4096];
    ssize_t n = ::readlink(path, link, sizeof(link) - 1);
    if (n > 0) {
      plan.AddParents(path);
      plan.steps_.push_back({Kind::kSymlink, plan.config_.root_mountpoint + path,
                             std::string(link, static_cast<size_t>(n))});
    } else if (Exists(path)) {
      plan.AddBind(path, /*read_only=*/true);
    }
  }
  if (Exists(kLoaderCache)) plan.AddBind(kLoaderCache, true);
  if (Exists(kPvmModule)) plan.AddBind(kPvmModule, true);
  for (const std::string& path : config.read_only) plan.AddBind(path, true);
  plan.AddBind(config.vm_dir, /*read_only=*/false);
  plan.AddParents("/dev/kvm");
  plan.steps_.push_back({Kind::kDevice, config.root_mountpoint + "/dev/kvm", "", 0,
                         makedev(10, 232)});
  plan.steps_.push_back({Kind::kDevice, config.root_mountpoint + "/dev/null", "", 0,
                         makedev(1, 3)});
  plan.AddParents("/proc/self");
  plan.steps_.push_back({Kind::kProc, config.root_mountpoint + "/proc", ""});
  return plan;
}

void JailPlan::AddParents(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string dir = path.substr(0, slash);
    bool made = false;
    for (const std::string& done : made_dirs_) made = made || done == dir;
    if (made) continue;
    made_dirs_.push_back(dir);
    steps_.push_back({Kind::kDir, config_.root_mountpoint + dir, ""});
  }
}

void JailPlan::AddBind(const std::string& host_path, bool read_only) {
  AddParents(host_path);
  struct stat st;
  const bool dir = ::stat(host_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  if (dir) {
    AddParents(host_path + "/");
  } else {
    steps_.push_back({Kind::kFile, config_.root_mountpoint + host_path, ""});
  }
  steps_.push_back({Kind::kBind, config_.root_mountpoint + host_path, host_path,
                    read_only ? kReadOnly : kReadWrite});
}

int JailPlan::Enter() const {
  const char* root = config_.root_mountpoint.c_str();
  // The jail's folders must be traversable by the VM's user (blimpd's own
  // umask is 077); the VMM sets its own files' modes.
  ::umask(022);
  // Nothing done here may reach the host's mount table.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return errno;
  if (::mount("blimp-jail", root, "tmpfs", MS_NOSUID, "mode=0755,size=1m") != 0) return errno;
  for (const Step& step : steps_) {
    const char* path = step.path.c_str();
    int rc = 0;
    switch (step.kind) {
      case Kind::kDir:
        rc = ::mkdir(path, 0755);
        if (rc != 0 && errno == EEXIST) rc = 0;
        break;
      case Kind::kFile: {
        int fd = ::open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        rc = fd < 0 ? -1 : ::close(fd);
        break;
      }
      case Kind::kSymlink:
        rc = ::symlink(step.source.c_str(), path);
        break;
      case Kind::kBind:
        rc = ::mount(step.source.c_str(), path, nullptr, MS_BIND | MS_REC, nullptr);
        if (rc == 0) rc = ::mount(nullptr, path, nullptr, MS_BIND | MS_REMOUNT | step.flags, nullptr);
        break;
      case Kind::kDevice:
        rc = ::mknod(path, S_IFCHR | 0600, step.device);
        if (rc == 0) rc = ::chown(path, config_.uid, config_.gid);
        break;
      case Kind::kProc:
        rc = ::mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
        break;
    }
    if (rc != 0) return errno;
  }
  // pivot_root(".", "."): the old root ends up under the new one, and is
  // then detached.
  if (::chdir(root) != 0) return errno;
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return errno;
  if (::umount2(".", MNT_DETACH) != 0) return errno;
  if (::chdir("/") != 0) return errno;
  if (::mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID, nullptr) != 0) {
    return errno;
  }
  // Every capability out of the bounding set, then an unprivileged user:
  // setresuid away from 0 clears the permitted and effective sets.
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return errno;
  }
  // Raw system calls: glibc's wrappers change every thread's credentials
  // under locks a parent thread may have held at the clone, and would hang.
  if (::syscall(SYS_setgroups, 0, nullptr) != 0) return errno;
  if (::syscall(SYS_setresgid, config_.gid, config_.gid, config_.gid) != 0) return errno;
  if (::syscall(SYS_setresuid, config_.uid, config_.uid, config_.uid) != 0) return errno;
  ::umask(077);
  return 0;
}

absl::Status BindIntoJail(int pidfd, pid_t pid, const std::string& host_path) {
  if (!absl::StartsWith(host_path, "/")) {
    return absl::InvalidArgumentError(absl::StrCat("'", host_path, "' is not absolute"));
  }
  // Everything the helper needs, laid out before the fork.
  std::vector<std::string> dirs;
  for (size_t slash = host_path.find('/', 1); slash != std::string::npos;
       slash = host_path.find('/', slash + 1)) {
    dirs.push_back(host_path.substr(0, slash));
  }
  // Never the daemon's own namespace: the helper remounts the root.
  struct stat ours, theirs;
  const std::string ns = absl::StrCat("/proc/", pid, "/ns/mnt");
  if (::stat("/proc/self/ns/mnt", &ours) != 0 || ::stat(ns.c_str(), &theirs) != 0) {
    return base::ErrnoStatus(absl::StrCat("stat ", ns));
  }
  if (ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev) {
    return absl::FailedPreconditionError(absl::StrCat("pid ", pid, " is not in a jail"));
  }
  const std::string root = absl::StrCat("/proc/", pid, "/root");
  base::UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return base::ErrnoStatus(absl::StrCat("open ", root));
  // A detached copy of the file's mount, made read-only, to attach inside.
  base::UniqueFd tree(static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, host_path.c_str(),
                                                 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
  if (!tree.valid()) return base::ErrnoStatus(absl::StrCat("open_tree ", host_path));
  mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH, &attr, sizeof(attr)) != 0) {
    return base::ErrnoStatus("mount_setattr");
  }
  pid_t helper = ::fork();
  if (helper < 0) return base::ErrnoStatus("fork");
  if (helper == 0) {
    // Only system calls from here (a copy of a threaded process).
    if (::setns(pidfd, CLONE_NEWNS) != 0 || ::fchdir(root_fd.get()) != 0 || ::chroot(".") != 0) {
      ::_exit(10);
    }
    struct stat st;
    if (::stat(host_path.c_str(), &st) == 0) ::_exit(0);  // Already there.
    // The jail's root is read-only: open it for the new mountpoint, then close it again.
    if (::mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_NOSUID, nullptr) != 0) ::_exit(11);
    for (const std::string& dir : dirs) {
      if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) ::_exit(12);
    }
    int fd = ::open(host_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) ::_exit(13);
    ::close(fd);
    const int moved = static_cast<int>(::syscall(SYS_move_mount, tree.get(), "", AT_FDCWD,
                                                 host_path.c_str(), MOVE_MOUNT_F_EMPTY_PATH));
    ::mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID, nullptr);
    ::_exit(moved == 0 ? 0 : 14);
  }
  int status = 0;
  while (::waitpid(helper, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    static constexpr const char* kSteps[] = {"enter the jail", "reopen its root",
                                             "make the mountpoint", "make the mountpoint",
                                             "attach the file"};
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return absl::InternalError(absl::StrCat(
        "cannot bind ", host_path, " into the jail of pid ", pid, ": ",
        code >= 10 && code <= 14 ? kSteps[code - 10] : "the helper failed"));
  }
  return absl::OkStatus();
}

}  // namespace blimp::daemon

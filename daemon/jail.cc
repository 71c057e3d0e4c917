#include "daemon/jail.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/errno_status.h"

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
  if (::setgroups(0, nullptr) != 0) return errno;
  if (::setresgid(config_.gid, config_.gid, config_.gid) != 0) return errno;
  if (::setresuid(config_.uid, config_.uid, config_.uid) != 0) return errno;
  ::umask(077);
  return 0;
}

}  // namespace blimp::daemon

// The jail blimpd starts each blimp-vmm in, as Firecracker's jailer does:
// new mount, pid, network, IPC and UTS namespaces; a root of its own (a
// tmpfs) holding only what the VM needs, each at its host path so nothing in
// the VMM's command line changes: the blimp-vmm binary and the shared
// libraries (read-only), its kernel and initrd (read-only), its own folder
// (read-write, owned by the VM's user), fresh /dev/kvm and /dev/null nodes
// owned by that user, a /proc of its own pid namespace; then every
// capability dropped (bounding set included) and an unprivileged uid and
// gid. blimp-vmm installs its seccomp filter itself, as without a jail.
//
// A JailPlan is laid out in the parent (strings and steps only) so that the
// forked child, a copy of a multithreaded process, runs nothing but system
// calls (child_process.cc).
#ifndef BLIMP_DAEMON_JAIL_H_
#define BLIMP_DAEMON_JAIL_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace blimp::daemon {

struct JailConfig {
  uid_t uid = 0;                        // The VMM's user and group (never 0).
  gid_t gid = 0;
  std::string root_mountpoint;          // An empty directory; the jail's tmpfs is
                                        // mounted on it, in the jail's own namespace only.
  std::string vm_dir;                   // Read-write.
  std::vector<std::string> read_only;   // Files (the binary, kernel, initrd) or folders.
};

// The namespaces a jailed child is cloned into.
inline constexpr unsigned long kJailNamespaces = 0x00020000UL    // CLONE_NEWNS
                                                 | 0x20000000UL  // CLONE_NEWPID
                                                 | 0x40000000UL  // CLONE_NEWNET
                                                 | 0x08000000UL  // CLONE_NEWIPC
                                                 | 0x04000000UL;  // CLONE_NEWUTS

class JailPlan {
 public:
  // INVALID_ARGUMENT for uid/gid 0 or a path that is not absolute;
  // NOT_FOUND for a path that does not exist.
  static absl::StatusOr<JailPlan> For(const JailConfig& config);

  // In the cloned child, before exec: builds the root, pivots into it, drops
  // every capability and becomes the VM's user. 0 or the errno of the step
  // that failed. Only system calls: safe after fork in a threaded process.
  int Enter() const;

 private:
  enum class Kind { kDir, kFile, kSymlink, kBind, kDevice, kProc };
  struct Step {
    Kind kind;
    std::string path;             // Under the root mountpoint.
    std::string source;           // kBind: host path; kSymlink: the link's text.
    unsigned long flags = 0;      // kBind: MS_* flags of the remount after the bind.
    dev_t device = 0;             // kDevice.
  };

  // Adds the directories leading to `path` (below the root) once each.
  void AddParents(const std::string& path);
  void AddBind(const std::string& host_path, bool read_only);

  JailConfig config_;
  std::vector<std::string> made_dirs_;
  std::vector<Step> steps_;
};

// Makes the file `host_path` visible, read-only, at the same path in the
// jail of the running process behind `pidfd` (a kernel or initrd given by
// PutBootSource after the VMM started). A short-lived helper process enters
// that jail's mount namespace; the VMM itself is never touched. OK if the
// path is already there.
absl::Status BindIntoJail(int pidfd, pid_t pid, const std::string& host_path);

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_JAIL_H_

// One blimp-vmm per VM, and what it leaves behind for a daemon that did not
// start it. The blimp-vmm serving a control socket holds an exclusive lock on
// <socket>.lock (base/pid_lock.h: its pid inside) from before it touches any
// of the VM's files until it exits. A blimpd restarted after a crash finds
// the VMMs to adopt by that lock, and, since an adopted VMM is not its child
// (no wait status), reads how it ended from the exit record the VMM appends
// to the same file just before it exits.
#ifndef BLIMP_VMM_CONTROL_INSTANCE_LOCK_H_
#define BLIMP_VMM_CONTROL_INSTANCE_LOCK_H_

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"

namespace blimp::vmm::control {

// <socket_path>.lock.
std::string ControlSocketLock(const std::string& socket_path);

// Takes that lock, held while the fd is open: FAILED_PRECONDITION naming the
// pid of the blimp-vmm that holds it.
absl::StatusOr<base::UniqueFd> LockControlSocket(const std::string& socket_path);

// The pid of the process that listens on the control socket at
// `socket_path`, from the kernel (SO_PEERCRED), not from any file the VMM can
// write: what a daemon checks the lock file's pid against before it adopts
// (and may later signal) a process. Answers even when that process is
// stopped (the connection waits in the backlog), within `timeout` if that
// backlog is full.
absl::StatusOr<pid_t> ListeningPid(const std::string& socket_path,
                                   absl::Duration timeout = absl::Seconds(1));

struct ExitRecord {
  int exit_code = 0;   // The process's exit status.
  std::string reason;  // ExitReasonName, e.g. "guest powered off".
};

// Appends "exit <code> <reason>" to the held lock file (write(2) only: it
// runs under the seccomp filter).
void WriteExitRecord(int lock_fd, const ExitRecord& record);

// The record of the last blimp-vmm of `socket_path`, if it wrote one (a VMM
// killed by a signal writes none).
std::optional<ExitRecord> ReadExitRecord(const std::string& socket_path);

}  // namespace blimp::vmm::control

#endif  // BLIMP_VMM_CONTROL_INSTANCE_LOCK_H_

// Spawning a blimp-vmm child: its own process group, no new privileges, only
// stdin/stdout/stderr inherited (each from a given fd), default signal
// dispositions and an empty signal mask, optionally in a jail (jail.h). The child is watched through a pidfd,
// which becomes readable when it exits.
#ifndef BLIMP_DAEMON_CHILD_PROCESS_H_
#define BLIMP_DAEMON_CHILD_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/unique_fd.h"

namespace blimp::daemon {

class JailPlan;

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the executable's path.
  int stdin_fd = -1;              // Becomes the child's fd 0 (not owned).
  int stdout_fd = -1;             // fd 1.
  int stderr_fd = -1;             // fd 2.
  // If set, the child is cloned into the jail's namespaces and enters the
  // jail before exec (daemon/jail.h); argv[0] must be inside it.
  const JailPlan* jail = nullptr;
};

struct Child {
  pid_t pid = -1;
  base::UniqueFd pidfd;  // Readable once the child exits (not yet reaped).
};

// Forks and execs. Fails (and reaps the child) if exec fails.
absl::StatusOr<Child> Spawn(const SpawnOptions& options);

// "blimp-vmm exited with status 3", "killed by signal 9" for a waitpid status.
std::string DescribeWaitStatus(int status);

// True if the wait status means a clean exit (status 0).
bool ExitedCleanly(int status);

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_CHILD_PROCESS_H_

// A lock file that says who holds it: an exclusive flock(2) on `path`, held
// while the returned fd is open (the kernel drops it when the holder dies,
// however it dies), with the holder's pid written inside for messages and
// for whoever wants to find the holder. One blimp-vmm per control socket
// and one blimpd per run directory rest on it.
#ifndef BLIMP_BASE_PID_LOCK_H_
#define BLIMP_BASE_PID_LOCK_H_

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "base/unique_fd.h"

namespace blimp::base {

// Creates `path` (0600) if needed and locks it. FAILED_PRECONDITION naming
// the holder's pid when another process holds it.
absl::StatusOr<UniqueFd> LockPidFile(const std::string& path);

// Whether some process holds `path`'s lock (false if there is no such
// file). Takes a shared lock for an instant to find out, so it must not race
// its holder's own LockPidFile.
bool PidFileLocked(const std::string& path);

// The pid written in `path` by the process holding its lock; nullopt when
// nobody holds it (or it wrote none). That process's word, as seen in its
// own pid namespace: for messages, never for signals.
std::optional<pid_t> PidFileHolder(const std::string& path);

}  // namespace blimp::base

#endif  // BLIMP_BASE_PID_LOCK_H_

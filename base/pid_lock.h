// A lock file that says who holds it: an exclusive flock(2) on `path`, held
// while the returned fd is open (the kernel drops it when the holder dies,
// however it dies), with the holder's pid on the file's first line, as that
// process sees itself, for the message a refused locker gets (never for
// signals). One blimp-vmm per control socket rests on it.
#ifndef BLIMP_BASE_PID_LOCK_H_
#define BLIMP_BASE_PID_LOCK_H_

#include <sys/types.h>

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

}  // namespace blimp::base

#endif  // BLIMP_BASE_PID_LOCK_H_

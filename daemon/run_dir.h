// The daemon's run directory: the lock that keeps a second blimpd out, stale
// socket cleanup after a crash, and the small file and socket helpers the
// supervisor uses for a VM's folder. Everything is created owner-only.
#ifndef BLIMP_DAEMON_RUN_DIR_H_
#define BLIMP_DAEMON_RUN_DIR_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/unique_fd.h"

namespace blimp::daemon {

inline constexpr char kLockFile[] = "blimpd.lock";
inline constexpr char kGrpcSocket[] = "blimp.grpc.sock";
inline constexpr char kHttpSocket[] = "blimp.sock";

// Creates `dir` (0700) if needed and takes an exclusive flock on
// <dir>/blimpd.lock, held as long as the returned fd is open.
// FailedPrecondition if another process holds it.
absl::StatusOr<base::UniqueFd> LockRunDir(const std::string& dir);

// Unlinks every socket in `dir` and in its direct subdirectories (what a
// crashed daemon and its VMs leave behind). Returns how many were removed.
int RemoveStaleSockets(const std::string& dir);

// rm -r `path` (no symlinks followed). OK if it does not exist.
absl::Status RemoveTree(const std::string& path);

// Writes `contents` to a new file `path` with `mode` (replacing it).
absl::Status WriteFile(const std::string& path, absl::string_view contents, int mode);

// A listening, non-blocking unix stream socket at `path` (an old file there
// is replaced), mode 0600.
absl::StatusOr<base::UniqueFd> ListenUnix(const std::string& path);

// Connects to a unix stream socket (for tests and tools).
absl::StatusOr<base::UniqueFd> ConnectUnix(const std::string& path);

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_RUN_DIR_H_

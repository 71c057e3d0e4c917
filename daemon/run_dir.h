// The daemon's run directory: the lock that keeps a second blimpd out, stale
// socket cleanup after a crash, and the small file and socket helpers the
// supervisor uses for a VM's folder. Everything is created owner-only.
//
// Layout: the daemon's own files at the top, VMs in their own namespace, so
// that no VM id can name a daemon file:
//   <run-dir>/blimpd.lock, blimp.grpc.sock, blimp.sock
//   <run-dir>/vms/<id>/    (config.json, control.sock, console.sock, ...)
#ifndef BLIMP_DAEMON_RUN_DIR_H_
#define BLIMP_DAEMON_RUN_DIR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/unique_fd.h"

namespace blimp::daemon {

inline constexpr char kLockFile[] = "blimpd.lock";
inline constexpr char kGrpcSocket[] = "blimp.grpc.sock";
inline constexpr char kHttpSocket[] = "blimp.sock";
inline constexpr char kVmsDir[] = "vms";
// In a VM's folder.
inline constexpr char kControlSocket[] = "control.sock";
inline constexpr char kConsoleSocket[] = "console.sock";
inline constexpr char kVmRestSocket[] = "firecracker.socket";
inline constexpr char kConsoleLog[] = "console.log";

// <run_dir>/vms/<vm_id>: `vm_id` must be a valid id (api::ValidateVmId).
std::string VmDir(absl::string_view run_dir, absl::string_view vm_id);

// Creates `dir` and <dir>/vms (0700) if needed and takes an exclusive flock
// on <dir>/blimpd.lock, held as long as the returned fd is open. Both folders
// must be real directories (not symlinks) owned by this user, else
// FailedPrecondition; an existing one is forced to mode 0700.
// FailedPrecondition if another process holds the lock.
absl::StatusOr<base::UniqueFd> LockRunDir(const std::string& dir);

// What a crashed daemon and its VMs leave behind: unlinks the daemon's two
// sockets at the top and control.sock, console.sock and firecracker.socket in
// each <dir>/vms/<id>/ whose blimp-vmm is gone (a live one holds
// control.sock.lock and is adopted instead), each only if it is a socket.
// Nothing else is touched. Returns how many were removed.
int RemoveStaleSockets(const std::string& dir);

// The names in `dir` (without . and ..); empty if it cannot be read.
std::vector<std::string> ListDir(const std::string& dir);

// rm -r `path` (no symlinks followed). OK if it does not exist.
absl::Status RemoveTree(const std::string& path);

// Writes `contents` to a new file `path` with `mode` (replacing it).
absl::Status WriteFile(const std::string& path, absl::string_view contents, int mode);

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_RUN_DIR_H_

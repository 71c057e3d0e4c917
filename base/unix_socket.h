// Unix stream sockets for local endpoints (a VM's console.sock, tests):
// listening ones that are owner-only from the moment they exist, and plain
// connects. The control protocol has its own SOCK_SEQPACKET framing
// (vmm/control/framing.h).
#ifndef BLIMP_BASE_UNIX_SOCKET_H_
#define BLIMP_BASE_UNIX_SOCKET_H_

#include <string>

#include "absl/status/statusor.h"
#include "base/unique_fd.h"

namespace blimp::base {

// A listening, non-blocking unix stream socket at `path` (an old file there
// is replaced), mode 0600.
absl::StatusOr<UniqueFd> ListenUnix(const std::string& path);

// A blocking connection to the unix stream socket at `path`.
absl::StatusOr<UniqueFd> ConnectUnix(const std::string& path);

}  // namespace blimp::base

#endif  // BLIMP_BASE_UNIX_SOCKET_H_

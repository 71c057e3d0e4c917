// Listening and connecting sockets for local and TCP endpoints (the REST
// gateway, a VM's console.sock, tests). A unix socket is owner-only (0600)
// from the moment its file exists and never replaces anything but an old
// socket. The control protocol has its own SOCK_SEQPACKET framing
// (vmm/control/framing.h).
#ifndef BLIMP_BASE_SOCKETS_H_
#define BLIMP_BASE_SOCKETS_H_

#include <string>

#include "absl/status/statusor.h"
#include "base/unique_fd.h"

namespace blimp::base {

// A listening, non-blocking unix stream socket at `path`, mode 0600. An old
// socket there is replaced; INVALID_ARGUMENT for an empty or too long path,
// NOT_FOUND if its folder does not exist, ALREADY_EXISTS if another kind of
// file is there.
absl::StatusOr<UniqueFd> ListenUnix(const std::string& path);

// A blocking connection to the unix stream socket at `path`.
absl::StatusOr<UniqueFd> ConnectUnix(const std::string& path);

// A listening, non-blocking TCP socket on "host:port" or "[v6]:port" (port
// 0: any; the port bound goes to *bound_port if given). INVALID_ARGUMENT for
// an address that does not parse or resolve.
absl::StatusOr<UniqueFd> ListenTcp(const std::string& host_port, int* bound_port = nullptr);

}  // namespace blimp::base

#endif  // BLIMP_BASE_SOCKETS_H_

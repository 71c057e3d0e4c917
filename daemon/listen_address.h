// Whether a TCP listen address (--grpc-listen, --http-listen: HOST:PORT,
// [V6]:PORT) only reaches this host. blimpd serves plain text on TCP only
// there; anything else (0.0.0.0, ::, a public address, a name that resolves
// to one, a form we do not parse) needs mutual TLS.
#ifndef BLIMP_DAEMON_LISTEN_ADDRESS_H_
#define BLIMP_DAEMON_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"

namespace blimp::daemon {

// True if every address `host_port`'s host resolves to is a loopback one
// (127.0.0.0/8, ::1, ::ffff:127.x). InvalidArgument if the host does not
// resolve; false for an empty host (every interface).
absl::StatusOr<bool> IsLoopbackListenAddress(const std::string& host_port);

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_LISTEN_ADDRESS_H_

// Messages on a unix SOCK_SEQPACKET socket: one datagram per protobuf
// message, so framing is the kernel's and a truncated or oversized message
// is detected, never misread. Every call is bounded by a deadline.
#ifndef BLIMP_VMM_CONTROL_FRAMING_H_
#define BLIMP_VMM_CONTROL_FRAMING_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "google/protobuf/message_lite.h"

namespace blimp::vmm::control {

// The largest message either side sends or accepts.
inline constexpr size_t kMaxFrameBytes = 64 * 1024;

// A listening SOCK_SEQPACKET socket at `path` (a stale socket there is
// replaced, never another kind of file), mode 0600, close-on-exec.
absl::StatusOr<base::UniqueFd> ListenSeqpacket(const std::string& path, int backlog);
// Connects to one; Unavailable if nobody listens, DeadlineExceeded if its
// backlog stays full until `deadline` (the listener accepts nothing).
absl::StatusOr<base::UniqueFd> ConnectSeqpacket(const std::string& path,
                                                absl::Time deadline = absl::InfiniteFuture());

// Sends `message` whole; it must not serialize to zero bytes (a Request or
// Response always has a non-zero id). DeadlineExceeded if the peer does not take it in
// time, Unavailable if it has gone, InvalidArgument if it is too large.
absl::Status SendFrame(int fd, const google::protobuf::MessageLite& message,
                       absl::Time deadline);
// Receives one message into `message`. Unavailable at end of stream (the
// peer closed), DeadlineExceeded when nothing came in time, DataLoss for a
// frame too large or not a valid `message`.
absl::Status ReceiveFrame(int fd, google::protobuf::MessageLite* message, absl::Time deadline);

}  // namespace blimp::vmm::control

#endif  // BLIMP_VMM_CONTROL_FRAMING_H_

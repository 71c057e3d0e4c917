#include "vmm/control/framing.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/errno_status.h"

namespace blimp::vmm::control {
namespace {

absl::StatusOr<sockaddr_un> Address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path '", path, "' is empty or longer than ",
                     sizeof(address.sun_path) - 1, " bytes"));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

// Waits until `fd` has `events` or `deadline` passes.
absl::Status Wait(int fd, short events, absl::Time deadline, const char* what) {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat("control socket: ", what, " timed out"));
    }
    pollfd p{fd, events, 0};
    const int ms = static_cast<int>(
        std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60 * 1000));
    const int ready = ::poll(&p, 1, ms);
    if (ready > 0) return absl::OkStatus();
    if (ready < 0 && errno != EINTR) return base::ErrnoStatus("poll control socket");
  }
}

}  // namespace

absl::StatusOr<base::UniqueFd> ListenSeqpacket(const std::string& path, int backlog) {
  absl::StatusOr<sockaddr_un> address = Address(path);
  if (!address.ok()) return address.status();
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::AlreadyExistsError(absl::StrCat(path, " exists and is not a socket"));
    }
    ::unlink(path.c_str());
  }
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return base::ErrnoStatus("socket(SOCK_SEQPACKET)");
  // The socket file gets the inode's mode (minus umask): never more than 0600.
  if (::fchmod(fd.get(), 0600) < 0) return base::ErrnoStatus("fchmod socket");
  // SAFETY: `address` is a complete sockaddr_un of the size passed.
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof(*address)) < 0) {
    return base::ErrnoStatus(absl::StrCat("bind ", path));
  }
  if (::listen(fd.get(), backlog) < 0) return base::ErrnoStatus(absl::StrCat("listen ", path));
  return fd;
}

absl::StatusOr<base::UniqueFd> ConnectSeqpacket(const std::string& path, absl::Time deadline) {
  absl::StatusOr<sockaddr_un> address = Address(path);
  if (!address.ok()) return address.status();
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return base::ErrnoStatus("socket(SOCK_SEQPACKET)");
  // A unix connect waits while the listener's backlog is full (a stopped
  // VMM accepts nothing) for as long as the send timeout allows.
  const bool bounded = deadline != absl::InfiniteFuture();
  if (bounded) {
    const timeval wait = absl::ToTimeval(std::max(deadline - absl::Now(), absl::Milliseconds(1)));
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof(wait));
  }
  // SAFETY: `address` is a complete sockaddr_un of the size passed.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof(*address)) < 0) {
    if (bounded && (errno == EAGAIN || errno == EINPROGRESS)) {
      return absl::DeadlineExceededError(
          absl::StrCat("connect ", path, ": its backlog stayed full (the VMM accepts nothing)"));
    }
    return absl::UnavailableError(
        absl::StrCat("connect ", path, ": ", std::strerror(errno)));
  }
  if (bounded) {
    const timeval none = {};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
  }
  return fd;
}

absl::Status SendFrame(int fd, const google::protobuf::MessageLite& message,
                       absl::Time deadline) {
  std::string bytes;
  if (!message.SerializeToString(&bytes)) return absl::InternalError("cannot serialize");
  // A zero-length datagram would read as the end of the stream.
  if (bytes.empty()) return absl::InvalidArgumentError("empty control message (id 0?)");
  if (bytes.size() > kMaxFrameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("control message of ", bytes.size(), " bytes is larger than ",
                     kMaxFrameBytes));
  }
  while (true) {
    ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent == static_cast<ssize_t>(bytes.size())) return absl::OkStatus();
    if (sent >= 0) return absl::InternalError("short send on a SOCK_SEQPACKET socket");
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      if (absl::Status ready = Wait(fd, POLLOUT, deadline, "send"); !ready.ok()) return ready;
      continue;
    }
    if (errno == EPIPE || errno == ECONNRESET) {
      return absl::UnavailableError("control socket: the peer has gone");
    }
    return base::ErrnoStatus("send control message");
  }
}

absl::Status ReceiveFrame(int fd, google::protobuf::MessageLite* message, absl::Time deadline) {
  std::vector<char> buffer(kMaxFrameBytes);
  while (true) {
    // MSG_TRUNC: the datagram's real length, even past the buffer.
    ssize_t got = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_TRUNC);
    if (got == 0) return absl::UnavailableError("control socket: the peer closed it");
    if (got > static_cast<ssize_t>(buffer.size())) {
      return absl::DataLossError(
          absl::StrCat("control message of ", got, " bytes is larger than ", kMaxFrameBytes));
    }
    if (got > 0) {
      if (!message->ParseFromArray(buffer.data(), static_cast<int>(got))) {
        return absl::DataLossError("control message does not parse");
      }
      return absl::OkStatus();
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      if (absl::Status ready = Wait(fd, POLLIN, deadline, "receive"); !ready.ok()) return ready;
      continue;
    }
    if (errno == ECONNRESET) return absl::UnavailableError("control socket: the peer has gone");
    return base::ErrnoStatus("receive control message");
  }
}

}  // namespace blimp::vmm::control

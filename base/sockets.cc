#include "base/sockets.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/errno_status.h"

namespace blimp::base {
namespace {

absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("unix socket path '", path,
                                                   "' is empty or longer than ",
                                                   sizeof(address.sun_path) - 1, " bytes"));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

// "host:port" or "[v6]:port".
absl::Status SplitHostPort(const std::string& host_port, std::string* host, std::string* port) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos || colon + 1 == host_port.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", host_port, "' is not host:port (e.g. 127.0.0.1:8080)"));
  }
  *host = host_port.substr(0, colon);
  *port = host_port.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  int number;
  if (!absl::SimpleAtoi(*port, &number) || number < 0 || number > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in '", host_port, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<UniqueFd> ListenUnix(const std::string& path) {
  absl::StatusOr<sockaddr_un> address = UnixAddress(path);
  if (!address.ok()) return address.status();
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::NotFoundError(
        absl::StrCat("cannot listen on '", path, "': directory '", dir, "' does not exist"));
  }
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::AlreadyExistsError(
          absl::StrCat("'", path, "' exists and is not a socket; not replacing it"));
    }
    if (::unlink(path.c_str()) != 0) return ErrnoStatus(absl::StrCat("unlink ", path));
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus("socket(AF_UNIX)");
  // Linux gives the socket file the socket inode's mode (minus umask): 0600
  // before bind, so the file is never more open than that.
  if (::fchmod(fd.get(), 0600) < 0) return ErrnoStatus("fchmod socket");
  // SAFETY: `address` is a sockaddr_un of the size passed.
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof(*address)) < 0) {
    return ErrnoStatus(absl::StrCat("bind ", path));
  }
  if (::chmod(path.c_str(), 0600) < 0 || ::listen(fd.get(), SOMAXCONN) < 0) {
    absl::Status status = ErrnoStatus(absl::StrCat("chmod/listen ", path));
    ::unlink(path.c_str());
    return status;
  }
  return fd;
}

absl::StatusOr<UniqueFd> ConnectUnix(const std::string& path) {
  absl::StatusOr<sockaddr_un> address = UnixAddress(path);
  if (!address.ok()) return address.status();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus("socket");
  // SAFETY: `address` is a sockaddr_un of the size passed.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof(*address)) < 0) {
    return ErrnoStatus(absl::StrCat("connect ", path));
  }
  return fd;
}

absl::StatusOr<UniqueFd> ListenTcp(const std::string& host_port, int* bound_port) {
  std::string host, port;
  if (absl::Status split = SplitHostPort(host_port, &host, &port); !split.ok()) return split;
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
      rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve '", host_port, "': ", ::gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
  absl::Status last = absl::UnavailableError(absl::StrCat("no address for ", host_port));
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
    if (!fd.valid()) {
      last = ErrnoStatus("socket");
      continue;
    }
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd.get(), SOMAXCONN) != 0) {
      last = ErrnoStatus(absl::StrCat("bind/listen ", host_port));
      continue;
    }
    sockaddr_storage bound = {};
    socklen_t length = sizeof(bound);
    // SAFETY: bound is a sockaddr_storage of `length` bytes.
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &length);
    if (bound_port != nullptr) {
      *bound_port = bound.ss_family == AF_INET6
                        // SAFETY: the family says which sockaddr this is.
                        ? ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port)
                        : ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
    }
    return fd;
  }
  return last;
}

}  // namespace blimp::base

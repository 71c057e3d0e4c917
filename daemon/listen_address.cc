#include "daemon/listen_address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "absl/strings/str_cat.h"

namespace blimp::daemon {
namespace {

// SAFETY (both): `address` comes from getaddrinfo with the family it names.
bool IsLoopback(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  }
  if (address->sa_family == AF_INET6) {
    const in6_addr& v6 = reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace

absl::StatusOr<bool> IsLoopbackListenAddress(const std::string& host_port) {
  std::string host;
  if (!host_port.empty() && host_port[0] == '[') {
    const size_t close = host_port.find(']');
    if (close == std::string::npos) return false;  // Not ours to guess: needs TLS.
    host = host_port.substr(1, close - 1);
  } else {
    const size_t colon = host_port.rfind(':');
    if (colon == std::string::npos) return false;
    host = host_port.substr(0, colon);
    // "ipv4:...", "dns:///..." and other gRPC URIs: not parsed, so not trusted.
    if (host.find(':') != std::string::npos || host.find('/') != std::string::npos) return false;
  }
  if (host.empty() || host == "*") return false;  // Every interface.
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int error = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); error != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve '", host, "' in ", host_port, ": ", ::gai_strerror(error)));
  }
  bool loopback = true;
  for (addrinfo* at = found; at != nullptr; at = at->ai_next) {
    loopback = loopback && IsLoopback(at->ai_addr);
  }
  ::freeaddrinfo(found);
  return loopback;
}

}  // namespace blimp::daemon

#include "tests/hostile/raw_client.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/errno_status.h"

namespace blimp::tests {

absl::StatusOr<RawConnection> RawConnection::Unix(const std::string& path) {
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return base::ErrnoStatus("socket");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) return absl::InvalidArgumentError("path too long");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  // SAFETY: a complete sockaddr_un of the size passed.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return base::ErrnoStatus("connect " + path);
  }
  return RawConnection(std::move(fd));
}

absl::StatusOr<RawConnection> RawConnection::Tcp(int port) {
  base::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return base::ErrnoStatus("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // SAFETY: a complete sockaddr_in of the size passed.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return base::ErrnoStatus(absl::StrCat("connect 127.0.0.1:", port));
  }
  return RawConnection(std::move(fd));
}

bool RawConnection::Send(absl::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

absl::StatusOr<RawResponse> RawConnection::Read(absl::Duration timeout, bool head) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const size_t end = buffered_.find("\r\n\r\n");
    if (end != std::string::npos) {
      RawResponse response;
      std::vector<std::string> lines = absl::StrSplit(buffered_.substr(0, end), "\r\n");
      if (lines.empty() || lines[0].size() < 12 ||
          !absl::SimpleAtoi(lines[0].substr(9, 3), &response.status)) {
        return absl::DataLossError("bad status line: " + lines[0]);
      }
      for (size_t i = 1; i < lines.size(); ++i) {
        const size_t colon = lines[i].find(':');
        if (colon == std::string::npos) return absl::DataLossError("bad header: " + lines[i]);
        response.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
            std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
      }
      size_t length = 0;
      auto cl = response.headers.find("content-length");
      if (!head && cl != response.headers.end() && !absl::SimpleAtoi(cl->second, &length)) {
        return absl::DataLossError("bad Content-Length: " + cl->second);
      }
      if (buffered_.size() >= end + 4 + length) {
        response.body = buffered_.substr(end + 4, length);
        buffered_.erase(0, end + 4 + length);
        return response;
      }
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::UnavailableError(absl::StrCat("no complete response; got: ", buffered_));
    }
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) continue;
    char chunk[16384];
    ssize_t n = ::recv(fd_.get(), chunk, sizeof(chunk), 0);
    if (n <= 0) {
      return absl::UnavailableError(absl::StrCat("closed before a complete response; got: ",
                                                 buffered_));
    }
    buffered_.append(chunk, static_cast<size_t>(n));
  }
}

bool RawConnection::ClosedWithin(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    pollfd p{fd_.get(), POLLIN, 0};
    const int left = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now())) + 1;
    if (::poll(&p, 1, left) <= 0) continue;
    char chunk[65536];
    ssize_t n = ::recv(fd_.get(), chunk, sizeof(chunk), 0);
    if (n <= 0) return true;
  }
  return false;
}

int OpenFds(int pid) {
  int count = 0;
  DIR* dir = ::opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (dir == nullptr) return -1;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count;
}

}  // namespace blimp::tests

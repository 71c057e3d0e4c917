#include "tests/e2e/http_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/errno_status.h"
#include "base/unique_fd.h"

namespace blimp::tests {

absl::StatusOr<HttpResult> HttpRequest(const std::string& socket, const std::string& method,
                                       const std::string& path, const std::string& body) {
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket.c_str());
  // SAFETY: sockaddr_un is the sockaddr for AF_UNIX.
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return base::ErrnoStatus("connect " + socket);
  }
  std::string request =
      absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n",
                   "Content-Type: application/json\r\nContent-Length: ", body.size(),
                   "\r\n\r\n", body);
  if (::write(fd.get(), request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    return base::ErrnoStatus("write");
  }
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buffer, sizeof(buffer))) > 0) response.append(buffer, n);
  HttpResult result;
  if (response.size() < 12 || !absl::SimpleAtoi(response.substr(9, 3), &result.status)) {
    return absl::InternalError("bad HTTP response: " + response);
  }
  size_t head_end = response.find("\r\n\r\n");
  if (head_end != std::string::npos) result.body = response.substr(head_end + 4);
  return result;
}

}  // namespace blimp::tests

#include "tests/e2e/http_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "base/errno_status.h"
#include "base/unique_fd.h"

namespace blimp::tests {
namespace {

std::string HeaderValue(absl::string_view head, absl::string_view name) {
  for (absl::string_view line : absl::StrSplit(head, "\r\n")) {
    const size_t colon = line.find(':');
    if (colon != absl::string_view::npos && absl::EqualsIgnoreCase(line.substr(0, colon), name)) {
      return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    }
  }
  return "";
}

void Record(const std::string& method, const std::string& path, const std::string& body,
            const HttpResult& result, const std::string& content_type) {
  const std::string file = RecordedExchangesPath();
  if (file.empty()) return;
  static absl::Mutex mu(absl::kConstInit);
  absl::MutexLock lock(&mu);
  std::ofstream out(file, std::ios::app);
  out << absl::Base64Escape(method) << ' ' << absl::Base64Escape(path) << ' '
      << absl::Base64Escape(body) << ' ' << absl::Base64Escape(absl::StrCat(result.status))
      << ' ' << absl::Base64Escape(content_type) << ' ' << absl::Base64Escape(result.body) << '\n';
}

}  // namespace

std::string RecordedExchangesPath() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir == nullptr ? "" : absl::StrCat(dir, "/http_exchanges");
}

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
  Record(method, path, body, result, HeaderValue(response.substr(0, head_end), "Content-Type"));
  return result;
}

}  // namespace blimp::tests

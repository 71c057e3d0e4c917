// Raw sockets for hostile-client tests: connections that send what a test
// wants, byte by byte or never, read whatever comes back with a timeout, and
// tell whether the server has closed them. Unlike tests/e2e/http_client.h
// nothing here is polite: no Host header unless given, no Content-Length
// unless written by the test.
#ifndef BLIMP_TESTS_HOSTILE_RAW_CLIENT_H_
#define BLIMP_TESTS_HOSTILE_RAW_CLIENT_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"

namespace blimp::tests {

// One HTTP/1.1 response as framed by its Content-Length.
struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // Lower-case names.
  std::string body;
};

class RawConnection {
 public:
  static absl::StatusOr<RawConnection> Unix(const std::string& path);
  static absl::StatusOr<RawConnection> Tcp(int port);  // 127.0.0.1.

  // Writes all of `bytes` (blocking); false if the server has closed.
  bool Send(absl::string_view bytes);
  // Reads one response; `head` means the request was HEAD (no body follows
  // whatever Content-Length says). Unavailable if nothing complete came
  // within `timeout`.
  absl::StatusOr<RawResponse> Read(absl::Duration timeout, bool head = false);
  // True once the server closed the connection (EOF or reset) within
  // `timeout`; whatever it sent before is discarded.
  bool ClosedWithin(absl::Duration timeout);

  int fd() const { return fd_.get(); }

 private:
  explicit RawConnection(base::UniqueFd fd) : fd_(std::move(fd)) {}

  base::UniqueFd fd_;
  std::string buffered_;  // Read but not yet returned.
};

// Counts the open file descriptors of process `pid`.
int OpenFds(int pid);

}  // namespace blimp::tests

#endif  // BLIMP_TESTS_HOSTILE_RAW_CLIENT_H_

// A minimal HTTP/1.1 client over unix sockets for tests and benchmarks: one
// request per connection, the status code and body back. In a test, every
// exchange is also recorded (RecordedExchangesPath) for openapi_checked.
#ifndef BLIMP_TESTS_E2E_HTTP_CLIENT_H_
#define BLIMP_TESTS_E2E_HTTP_CLIENT_H_

#include <string>

#include "absl/status/statusor.h"

namespace blimp::tests {

struct HttpResult {
  int status = 0;
  std::string body;
};

// Where a test's exchanges are recorded: <TEST_TMPDIR>/http_exchanges, a
// line each (method, path, request body, status, content type, response
// body, each base64; api/openapi_check.py reads it). Empty outside a test.
std::string RecordedExchangesPath();

absl::StatusOr<HttpResult> HttpRequest(const std::string& socket, const std::string& method,
                                       const std::string& path, const std::string& body = "");

}  // namespace blimp::tests

#endif  // BLIMP_TESTS_E2E_HTTP_CLIENT_H_

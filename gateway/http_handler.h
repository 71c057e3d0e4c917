// HttpHandler: what an HttpServer serves. A handler turns one parsed request
// into one response; it runs on the server's worker threads (never on its
// I/O thread), so Handle() must be thread-safe and may block (bounded).
// Lane() groups requests that share a bounded queue and a concurrency limit
// (e.g. one lane per VM), so a slow lane never delays another.
#ifndef BLIMP_GATEWAY_HTTP_HANDLER_H_
#define BLIMP_GATEWAY_HTTP_HANDLER_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace blimp::gateway {

// Largest request body accepted; bigger ones are 413.
inline constexpr size_t kMaxBodyBytes = 64 * 1024;
inline constexpr char kJsonContentType[] = "application/json";

struct HttpRequest {
  std::string method;  // "GET", "PUT", "PATCH", "DELETE", ... (HEAD arrives as GET)
  std::string path;    // As sent (percent-encoded), without the query.
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string body;                                          // Empty for 204.
  std::string content_type;                                  // Set when body is not empty.
  std::vector<std::pair<std::string, std::string>> headers;  // E.g. Allow.
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual HttpResponse Handle(const HttpRequest& request) const = 0;
  // Requests with the same lane share a bounded queue and concurrency.
  virtual std::string Lane(const HttpRequest& request) const { return ""; }
};

}  // namespace blimp::gateway

#endif  // BLIMP_GATEWAY_HTTP_HANDLER_H_

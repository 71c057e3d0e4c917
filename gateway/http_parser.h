// HttpRequestParser: a pure, incremental HTTP/1.1 request parser (RFC 9112)
// for the gateway's server: no sockets, no allocation beyond the request it
// builds. Feed it bytes as they arrive (in any split); it consumes what it
// needs and stops at the end of one request, leaving pipelined bytes to the
// caller. Strict where leniency lets two parsers disagree (request
// smuggling): obs-fold, control characters, duplicate Content-Length, both
// Content-Length and Transfer-Encoding, bare CR are 400s.
//
//   HttpRequestParser parser(limits);
//   size_t used = parser.Consume(bytes);
//   if (parser.failed()) -> answer parser.error_status()/error_message(), close
//   if (parser.headers_done() && parser.request().expect_continue) -> "100 Continue"
//   if (parser.done()) -> serve parser.request(), then parser.Reset()
#ifndef BLIMP_GATEWAY_HTTP_PARSER_H_
#define BLIMP_GATEWAY_HTTP_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "gateway/http_handler.h"

namespace blimp::gateway {

struct HttpParserLimits {
  size_t max_request_line_bytes = 8 * 1024;  // Longer: 414.
  size_t max_header_bytes = 16 * 1024;       // All header lines (and trailers): 431.
  size_t max_headers = 64;                   // More header fields: 431.
  size_t max_body_bytes = kMaxBodyBytes;     // Larger body: 413.
};

struct ParsedRequest {
  std::string method;                                        // As sent (case-sensitive token).
  std::string path;                                          // The target up to '?', as sent.
  std::string query;                                         // After '?', without it.
  int minor_version = 1;                                     // HTTP/1.<minor_version>: 0 or 1.
  std::vector<std::pair<std::string, std::string>> headers;  // Values trimmed.
  std::optional<std::string> host;                           // The Host header, if sent.
  bool keep_alive = true;                                    // From the version and Connection.
  bool expect_continue = false;                              // "Expect: 100-continue" on HTTP/1.1.
  bool chunked = false;
  std::optional<uint64_t> content_length;
  std::string body;
};

class HttpRequestParser {
 public:
  explicit HttpRequestParser(HttpParserLimits limits = {}) : limits_(limits) {}

  // Consumes bytes of the current request from `data` and returns how many
  // it used: all of them unless the request ended (done()) or failed.
  size_t Consume(absl::string_view data);

  bool done() const { return state_ == State::kDone; }
  bool failed() const { return state_ == State::kError; }
  // True once the header section was parsed (also when done()).
  bool headers_done() const { return state_ >= State::kBody && state_ != State::kError; }
  // True once the first byte of the request arrived.
  bool started() const { return state_ != State::kRequestLine || !line_.empty(); }

  // 400, 413, 414, 417, 431, 501 or 505 with a message for the client.
  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

  const ParsedRequest& request() const { return request_; }
  ParsedRequest& mutable_request() { return request_; }

  // Ready for the next request on the same connection.
  void Reset();

 private:
  // Order matters: headers_done() compares.
  enum class State {
    kRequestLine,
    kHeaders,
    kBody,  // Content-Length body.
    kChunkSize,
    kChunkData,
    kChunkDataEnd,  // The CRLF after a chunk's data.
    kTrailers,
    kDone,
    kError,
  };

  // Appends to line_ up to and including LF; true when a line is complete
  // (line_ then holds it without CRLF).
  bool TakeLine(absl::string_view data, size_t* pos, size_t limit, int too_long_status,
                absl::string_view what);
  void ParseRequestLine();
  void ParseHeaderLine();
  void FinishHeaders();
  void ParseChunkSize();
  void Fail(int status, std::string message);

  HttpParserLimits limits_;
  State state_ = State::kRequestLine;
  std::string line_;
  size_t header_bytes_ = 0;
  uint64_t remaining_ = 0;  // Of the Content-Length body or the current chunk.
  bool saw_transfer_encoding_ = false;
  ParsedRequest request_;
  int error_status_ = 0;
  std::string error_message_;
};

}  // namespace blimp::gateway

#endif  // BLIMP_GATEWAY_HTTP_PARSER_H_

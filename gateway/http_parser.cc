#include "gateway/http_parser.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace blimp::gateway {
namespace {

// The CRLF after a chunk size line or after a chunk's data may be this long.
constexpr size_t kMaxChunkLineBytes = 1024;

// RFC 9110 5.6.2 tchar.
bool IsTokenChar(unsigned char c) {
  if (absl::ascii_isalnum(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(absl::string_view text) {
  if (text.empty()) return false;
  for (unsigned char c : text) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// field-value characters: VCHAR, SP, HTAB, obs-text; no CTLs (NUL, CR, LF...).
bool IsFieldValue(absl::string_view text) {
  for (unsigned char c : text) {
    if (c != '\t' && (c < 0x20 || c == 0x7f)) return false;
  }
  return true;
}

// request-target characters: visible ASCII only.
bool IsTarget(absl::string_view text) {
  for (unsigned char c : text) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

absl::string_view TrimOws(absl::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

void HttpRequestParser::Reset() {
  state_ = State::kRequestLine;
  line_.clear();
  header_bytes_ = 0;
  remaining_ = 0;
  saw_transfer_encoding_ = false;
  request_ = ParsedRequest();
  error_status_ = 0;
  error_message_.clear();
}

void HttpRequestParser::Fail(int status, std::string message) {
  state_ = State::kError;
  error_status_ = status;
  error_message_ = std::move(message);
}

bool HttpRequestParser::TakeLine(absl::string_view data, size_t* pos, size_t limit,
                                 int too_long_status, absl::string_view what) {
  const size_t lf = data.find('\n', *pos);
  const size_t end = lf == absl::string_view::npos ? data.size() : lf;
  // +1: the CR of the CRLF may already be here.
  if (line_.size() + (end - *pos) > limit + 1) {
    Fail(too_long_status, absl::StrCat("the ", what, " is longer than ", limit, " bytes"));
    return false;
  }
  line_.append(data.data() + *pos, end - *pos);
  if (lf == absl::string_view::npos) {
    *pos = data.size();
    return false;
  }
  *pos = lf + 1;
  if (line_.empty() || line_.back() != '\r') {
    Fail(400, absl::StrCat("the ", what, " does not end with CRLF"));
    return false;
  }
  line_.pop_back();
  if (line_.size() > limit) {
    Fail(too_long_status, absl::StrCat("the ", what, " is longer than ", limit, " bytes"));
    return false;
  }
  return true;
}

size_t HttpRequestParser::Consume(absl::string_view data) {
  size_t pos = 0;
  while (state_ != State::kDone && state_ != State::kError) {
    if (pos == data.size()) break;
    switch (state_) {
      case State::kRequestLine:
        if (!TakeLine(data, &pos, limits_.max_request_line_bytes, 414, "request line")) break;
        // RFC 9112 2.2: empty lines before a request are ignored.
        if (!line_.empty()) ParseRequestLine();
        line_.clear();
        break;
      case State::kHeaders:
      case State::kTrailers: {
        const size_t budget =
            limits_.max_header_bytes > header_bytes_ ? limits_.max_header_bytes - header_bytes_ : 0;
        if (!TakeLine(data, &pos, budget, 431, "header section")) break;
        header_bytes_ += line_.size() + 2;
        ParseHeaderLine();
        line_.clear();
        break;
      }
      case State::kBody: {
        const size_t take = std::min<uint64_t>(remaining_, data.size() - pos);
        request_.body.append(data.data() + pos, take);
        pos += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::kDone;
        break;
      }
      case State::kChunkSize:
        if (!TakeLine(data, &pos, kMaxChunkLineBytes, 400, "chunk size line")) break;
        ParseChunkSize();
        line_.clear();
        break;
      case State::kChunkData: {
        const size_t take = std::min<uint64_t>(remaining_, data.size() - pos);
        request_.body.append(data.data() + pos, take);
        pos += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::kChunkDataEnd;
        break;
      }
      case State::kChunkDataEnd:
        if (!TakeLine(data, &pos, 0, 400, "CRLF after chunk data")) break;
        line_.clear();
        state_ = State::kChunkSize;
        break;
      case State::kDone:
      case State::kError:
        break;
    }
  }
  return pos;
}

void HttpRequestParser::ParseRequestLine() {
  const std::vector<absl::string_view> parts = absl::StrSplit(line_, ' ');
  if (parts.size() != 3) {
    Fail(400, "the request line is not 'METHOD /path HTTP/1.1'");
    return;
  }
  if (!IsToken(parts[0])) {
    Fail(400, "the request method is not a token");
    return;
  }
  if (parts[1].empty() || parts[1][0] != '/' || !IsTarget(parts[1])) {
    Fail(400, "the request target must be a path starting with '/' (visible ASCII only)");
    return;
  }
  if (parts[2] == "HTTP/1.1") {
    request_.minor_version = 1;
  } else if (parts[2] == "HTTP/1.0") {
    request_.minor_version = 0;
    request_.keep_alive = false;
  } else if (absl::StartsWith(parts[2], "HTTP/") && parts[2].size() == 8 &&
             absl::ascii_isdigit(parts[2][5]) && parts[2][6] == '.' &&
             absl::ascii_isdigit(parts[2][7])) {
    Fail(505, absl::StrCat("HTTP version ", parts[2].substr(5), " is not supported (1.0, 1.1)"));
    return;
  } else {
    Fail(400, "the request line does not end with an HTTP version");
    return;
  }
  request_.method = std::string(parts[0]);
  const absl::string_view target = parts[1];
  const size_t question = target.find('?');
  request_.path = std::string(target.substr(0, question));
  if (question != absl::string_view::npos)
    request_.query = std::string(target.substr(question + 1));
  state_ = State::kHeaders;
}

void HttpRequestParser::ParseHeaderLine() {
  if (line_.empty()) {
    if (state_ == State::kTrailers) {
      state_ = State::kDone;
    } else {
      FinishHeaders();
    }
    return;
  }
  if (line_[0] == ' ' || line_[0] == '\t') {
    Fail(400, "obsolete line folding (a header line starting with whitespace) is not allowed");
    return;
  }
  const size_t colon = line_.find(':');
  const absl::string_view name =
      absl::string_view(line_).substr(0, colon == std::string::npos ? line_.size() : colon);
  if (colon == std::string::npos || !IsToken(name)) {
    Fail(400, "a header line is not 'Name: value' (no whitespace before the colon)");
    return;
  }
  const absl::string_view value = TrimOws(absl::string_view(line_).substr(colon + 1));
  if (!IsFieldValue(value)) {
    Fail(400, "a header value contains a control character");
    return;
  }
  if (state_ == State::kTrailers) return;  // Trailers are checked, then ignored.
  if (request_.headers.size() >= limits_.max_headers) {
    Fail(431, absl::StrCat("more than ", limits_.max_headers, " header fields"));
    return;
  }
  request_.headers.emplace_back(std::string(name), std::string(value));

  if (absl::EqualsIgnoreCase(name, "Content-Length")) {
    uint64_t length = 0;
    const bool digits =
        !value.empty() && value.size() <= 19 &&
        std::all_of(value.begin(), value.end(), [](char c) { return absl::ascii_isdigit(c); });
    if (request_.content_length.has_value()) {
      Fail(400, "more than one Content-Length header");
    } else if (!digits || !absl::SimpleAtoi(value, &length)) {
      Fail(400, "Content-Length is not a decimal number");
    } else {
      request_.content_length = length;
    }
  } else if (absl::EqualsIgnoreCase(name, "Transfer-Encoding")) {
    if (saw_transfer_encoding_) {
      Fail(400, "more than one Transfer-Encoding header");
    } else if (request_.minor_version == 0) {
      Fail(400, "Transfer-Encoding is not allowed in HTTP/1.0");
    } else if (!absl::EqualsIgnoreCase(value, "chunked")) {
      Fail(501, "only 'Transfer-Encoding: chunked' is supported");
    } else {
      request_.chunked = true;
    }
    saw_transfer_encoding_ = true;
  } else if (absl::EqualsIgnoreCase(name, "Host")) {
    if (request_.host.has_value()) {
      Fail(400, "more than one Host header");
    } else {
      request_.host = std::string(value);
    }
  } else if (absl::EqualsIgnoreCase(name, "Connection")) {
    for (absl::string_view option : absl::StrSplit(value, ',')) {
      option = TrimOws(option);
      if (absl::EqualsIgnoreCase(option, "close")) {
        request_.keep_alive = false;
        break;
      }
      if (absl::EqualsIgnoreCase(option, "keep-alive")) request_.keep_alive = true;
    }
  } else if (absl::EqualsIgnoreCase(name, "Expect")) {
    if (!absl::EqualsIgnoreCase(value, "100-continue")) {
      Fail(417, "only 'Expect: 100-continue' is supported");
    } else if (request_.minor_version == 1) {
      request_.expect_continue = true;
    }
  }
}

void HttpRequestParser::FinishHeaders() {
  if (request_.minor_version == 1 && !request_.host.has_value()) {
    Fail(400, "an HTTP/1.1 request needs a Host header");
    return;
  }
  if (request_.chunked && request_.content_length.has_value()) {
    Fail(400, "both Content-Length and Transfer-Encoding were sent");
    return;
  }
  if (request_.chunked) {
    state_ = State::kChunkSize;
    return;
  }
  const uint64_t length = request_.content_length.value_or(0);
  if (length > limits_.max_body_bytes) {
    Fail(413, absl::StrCat("the request body is larger than ", limits_.max_body_bytes, " bytes"));
    return;
  }
  remaining_ = length;
  request_.body.reserve(length);
  state_ = length > 0 ? State::kBody : State::kDone;
}

void HttpRequestParser::ParseChunkSize() {
  absl::string_view size_text = line_;
  const size_t semicolon = size_text.find(';');
  if (semicolon != absl::string_view::npos) {
    if (!IsFieldValue(size_text.substr(semicolon))) {
      Fail(400, "a chunk extension contains a control character");
      return;
    }
    size_text = size_text.substr(0, semicolon);
  }
  uint64_t size = 0;
  if (size_text.empty() || size_text.size() > 15) {
    Fail(400, "a chunk size is not a hexadecimal number");
    return;
  }
  for (char c : size_text) {
    if (!absl::ascii_isxdigit(c)) {
      Fail(400, "a chunk size is not a hexadecimal number");
      return;
    }
    size = size * 16 + (absl::ascii_isdigit(c) ? c - '0' : absl::ascii_tolower(c) - 'a' + 10);
  }
  if (size == 0) {
    state_ = State::kTrailers;
    return;
  }
  if (size > limits_.max_body_bytes - std::min(limits_.max_body_bytes, request_.body.size())) {
    Fail(413, absl::StrCat("the request body is larger than ", limits_.max_body_bytes, " bytes"));
    return;
  }
  remaining_ = size;
  state_ = State::kChunkData;
}

}  // namespace blimp::gateway

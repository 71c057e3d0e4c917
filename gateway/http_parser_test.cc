#include "gateway/http_parser.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace blimp::gateway {
namespace {

using ::testing::HasSubstr;

struct Result {
  bool done = false;
  int error = 0;
  std::string message;
  size_t used = 0;
  ParsedRequest request;
};

// Feeds `pieces` one after another, stopping where the parser stops.
Result Feed(const std::vector<absl::string_view>& pieces, HttpParserLimits limits = {}) {
  HttpRequestParser parser(limits);
  Result result;
  for (absl::string_view piece : pieces) {
    result.used += parser.Consume(piece);
    if (parser.done() || parser.failed()) break;
  }
  result.done = parser.done();
  result.error = parser.failed() ? parser.error_status() : 0;
  result.message = parser.error_message();
  result.request = parser.request();
  return result;
}

// Parses `input` whole, split at every byte, and one byte at a time; all
// three must agree. Returns the whole-input result.
Result Parse(absl::string_view input, HttpParserLimits limits = {}) {
  const Result whole = Feed({input}, limits);
  auto same = [&](const Result& other, const std::string& how) {
    EXPECT_EQ(other.done, whole.done) << how;
    EXPECT_EQ(other.error, whole.error) << how << ": " << other.message;
    EXPECT_EQ(other.request.method, whole.request.method) << how;
    EXPECT_EQ(other.request.path, whole.request.path) << how;
    EXPECT_EQ(other.request.body, whole.request.body) << how;
    EXPECT_EQ(other.request.headers, whole.request.headers) << how;
    EXPECT_EQ(other.request.keep_alive, whole.request.keep_alive) << how;
    if (whole.done) {
      EXPECT_EQ(other.used, whole.used) << how;
    }
  };
  for (size_t split = 1; split < input.size(); ++split) {
    same(Feed({input.substr(0, split), input.substr(split)}, limits),
         "split at " + std::to_string(split));
  }
  std::vector<absl::string_view> bytes;
  for (size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
  same(Feed(bytes, limits), "byte by byte");
  return whole;
}

TEST(HttpParserTest, SimpleGet) {
  const Result r = Parse("GET /balloon?x=1 HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n");
  ASSERT_TRUE(r.done) << r.message;
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.path, "/balloon");
  EXPECT_EQ(r.request.query, "x=1");
  EXPECT_EQ(r.request.host, "localhost");
  EXPECT_TRUE(r.request.keep_alive);
  EXPECT_EQ(r.request.headers.size(), 2u);
  EXPECT_EQ(r.request.headers[1].second, "*/*");
  EXPECT_TRUE(r.request.body.empty());
}

TEST(HttpParserTest, ContentLengthBodyAndPipelinedBytesAreLeft) {
  const std::string first = "PUT /balloon HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
  const std::string input = first + "GET / HTTP/1.1\r\n";
  const Result r = Parse(input);
  ASSERT_TRUE(r.done) << r.message;
  EXPECT_EQ(r.request.body, "hello");
  EXPECT_EQ(r.used, first.size());
}

TEST(HttpParserTest, ChunkedBody) {
  const Result r = Parse(
      "PATCH /balloon HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nTrailer: x\r\n\r\n");
  ASSERT_TRUE(r.done) << r.message;
  EXPECT_EQ(r.request.body, "hello, world!!!");
  EXPECT_TRUE(r.request.chunked);
}

TEST(HttpParserTest, VersionsConnectionAndExpect) {
  Result r = Parse("GET / HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(r.done) << r.message;  // HTTP/1.0 needs no Host.
  EXPECT_FALSE(r.request.keep_alive);
  EXPECT_EQ(r.request.minor_version, 0);
  r = Parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  EXPECT_TRUE(r.request.keep_alive);
  r = Parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n");
  EXPECT_FALSE(r.request.keep_alive);
  r = Parse("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx");
  ASSERT_TRUE(r.done);
  EXPECT_TRUE(r.request.expect_continue);
  EXPECT_EQ(Parse("PUT / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n").error, 417);
  // Empty lines before a request are ignored (RFC 9112 2.2).
  EXPECT_TRUE(Parse("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n").done);
}

TEST(HttpParserTest, HeadersDoneBeforeTheBody) {
  HttpRequestParser parser;
  const std::string head =
      "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
  EXPECT_FALSE(parser.started());
  EXPECT_EQ(parser.Consume("P"), 1u);
  EXPECT_TRUE(parser.started());
  EXPECT_FALSE(parser.headers_done());
  EXPECT_EQ(parser.Consume(head.substr(1)), head.size() - 1);
  EXPECT_TRUE(parser.headers_done());
  EXPECT_FALSE(parser.done());
  EXPECT_TRUE(parser.request().expect_continue);
  EXPECT_EQ(parser.Consume("abc"), 3u);
  EXPECT_TRUE(parser.done());
  parser.Reset();
  EXPECT_FALSE(parser.started());
  EXPECT_EQ(parser.Consume("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 27u);
  EXPECT_TRUE(parser.done());
  EXPECT_TRUE(parser.request().body.empty());
}

TEST(HttpParserTest, RejectsAmbiguousFraming) {
  struct Case {
    const char* input;
    int status;
    const char* message;
  } cases[] = {
      {"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400, "folding"},
      {"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01"
       "b\r\n\r\n",
       400, "control"},
      {"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400, "control"},
      {"GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", 400, "CRLF"},
      {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400,
       "more than one Content-Length"},
      {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\nx", 400, "decimal"},
      {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\nx", 400, "decimal"},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
       "both"},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "chunked"},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "hex"},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", 400,
       "after chunk"},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "Host"},
      {"GET / HTTP/1.1\r\n\r\n", 400, "Host"},
      {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400, "Name: value"},
      {"GET / HTTP/1.1\r\nName : x\r\n\r\n", 400, "Name: value"},
      {"GET  / HTTP/1.1\r\n", 400, "request line"},
      {"GET http://x/ HTTP/1.1\r\n", 400, "target"},
      {"G(T / HTTP/1.1\r\n", 400, "token"},
      {"GET / HTTP/2.0\r\n", 505, "version"},
      {"GET / FTP/1.0\r\n", 400, "version"},
  };
  for (const Case& c : cases) {
    const Result r = Parse(c.input);
    EXPECT_EQ(r.error, c.status) << c.input << " -> " << r.message;
    EXPECT_THAT(r.message, HasSubstr(c.message)) << c.input;
  }
  const std::string nul("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", 36);
  EXPECT_EQ(Parse(nul).error, 400);
}

TEST(HttpParserTest, Limits) {
  HttpParserLimits limits;
  limits.max_request_line_bytes = 32;
  limits.max_header_bytes = 64;
  limits.max_headers = 3;
  limits.max_body_bytes = 10;
  EXPECT_EQ(Parse("GET /" + std::string(40, 'a') + " HTTP/1.1\r\n", limits).error, 414);
  // Too long is found without waiting for the line's end.
  EXPECT_EQ(Feed({"GET /" + std::string(40, 'a')}, limits).error, 414);
  EXPECT_EQ(
      Parse("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(60, 'b') + "\r\n\r\n", limits).error,
      431);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits).error, 431);
  EXPECT_TRUE(Parse("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", limits).done);
  EXPECT_EQ(Parse("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", limits).error, 413);
  EXPECT_TRUE(
      Parse("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", limits).done);
  EXPECT_EQ(Parse("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "6\r\n012345\r\n5\r\n",
                  limits)
                .error,
            413);
  EXPECT_EQ(
      Parse("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", limits)
          .error,
      400);
  // Trailers count towards the header budget.
  EXPECT_EQ(Parse("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: " +
                      std::string(40, 'x') + "\r\n\r\n",
                  limits)
                .error,
            431);
}

}  // namespace
}  // namespace blimp::gateway

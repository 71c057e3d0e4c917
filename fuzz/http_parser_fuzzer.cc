// Fuzzes the gateway's HTTP/1.1 request parser: any bytes, fed whole and
// split at fuzzer-chosen points, with small limits. The parser must never
// crash, must agree with itself however the bytes are split, must consume
// only what it reports, and must keep every limit (a done request's body is
// never over max_body_bytes; every error has a 4xx/5xx status and a message).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "gateway/http_parser.h"

namespace blimp::fuzz {
namespace {

struct Outcome {
  bool done = false;
  int error = 0;
  size_t used = 0;
  gateway::ParsedRequest request;
};

Outcome Parse(const std::string& bytes, const std::vector<size_t>& cuts,
              const gateway::HttpParserLimits& limits) {
  gateway::HttpRequestParser parser(limits);
  Outcome outcome;
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(bytes.size());
  for (size_t end : ends) {
    if (end < start) continue;
    const std::string piece = bytes.substr(start, end - start);
    const size_t used = parser.Consume(piece);
    if (used > piece.size()) std::abort();
    outcome.used += used;
    start = end;
    if (parser.done() || parser.failed()) break;
    if (used != piece.size()) std::abort();  // Not done: everything is taken.
  }
  outcome.done = parser.done();
  outcome.error = parser.failed() ? parser.error_status() : 0;
  if (parser.failed() && (parser.error_status() < 400 || parser.error_message().empty())) {
    std::abort();
  }
  outcome.request = parser.request();
  return outcome;
}

}  // namespace
}  // namespace blimp::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using blimp::fuzz::FuzzInput;
  FuzzInput input(data, size);
  blimp::gateway::HttpParserLimits limits;
  limits.max_request_line_bytes = 16 + input.Take<uint8_t>();
  limits.max_header_bytes = 32 + input.Take<uint8_t>() * 4;
  limits.max_headers = 1 + input.Take<uint8_t>() % 16;
  limits.max_body_bytes = input.Take<uint8_t>() * 8;
  std::vector<size_t> cuts;
  for (int i = input.Take<uint8_t>() % 8; i > 0; --i) cuts.push_back(input.Take<uint16_t>());
  std::string bytes(input.remaining(), '\0');
  input.TakeBytes(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size());
  for (size_t& cut : cuts) cut %= bytes.size() + 1;
  std::sort(cuts.begin(), cuts.end());

  const auto whole = blimp::fuzz::Parse(bytes, {}, limits);
  const auto split = blimp::fuzz::Parse(bytes, cuts, limits);
  if (whole.done != split.done || whole.error != split.error) std::abort();
  if (whole.done) {
    if (whole.used != split.used || whole.request.body != split.request.body ||
        whole.request.method != split.request.method ||
        whole.request.path != split.request.path ||
        whole.request.headers != split.request.headers) {
      std::abort();
    }
    if (whole.request.body.size() > limits.max_body_bytes) std::abort();
    if (whole.request.headers.size() > limits.max_headers) std::abort();
  }
  return 0;
}

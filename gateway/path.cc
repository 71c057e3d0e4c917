#include "gateway/path.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace blimp::gateway {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

absl::StatusOr<std::string> DecodeSegment(absl::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      out.push_back(segment[i]);
      continue;
    }
    const int high = i + 2 < segment.size() ? HexValue(segment[i + 1]) : -1;
    const int low = high >= 0 ? HexValue(segment[i + 2]) : -1;
    if (low < 0) return absl::InvalidArgumentError("bad percent-encoding in the request path");
    const char c = static_cast<char>(high * 16 + low);
    if (c == '/' || c == '\\' || c == '\0') {
      return absl::InvalidArgumentError(
          "the request path has an encoded '/', '\\' or NUL character");
    }
    out.push_back(c);
    i += 2;
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> SplitPath(absl::string_view raw_path) {
  if (raw_path.empty() || raw_path[0] != '/') {
    return absl::InvalidArgumentError("the request path must start with '/'");
  }
  std::vector<std::string> segments;
  if (raw_path == "/") return segments;
  for (absl::string_view raw : absl::StrSplit(raw_path.substr(1), '/')) {
    if (raw.empty()) {
      return absl::InvalidArgumentError("the request path has an empty segment");
    }
    absl::StatusOr<std::string> segment = DecodeSegment(raw);
    if (!segment.ok()) return segment.status();
    if (*segment == "." || *segment == "..") {
      return absl::InvalidArgumentError("the request path has a '.' or '..' segment");
    }
    segments.push_back(*std::move(segment));
  }
  return segments;
}

}  // namespace blimp::gateway

// One JSON string (RFC 8259 section 7), decoded and checked strictly: no raw
// control characters, only the standard escapes, \u surrogates in pairs, and
// valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
// Used by the strict JSON pass (json_strict.h) for keys and values.
#ifndef BLIMP_API_JSON_STRING_H_
#define BLIMP_API_JSON_STRING_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace blimp::api {

// Reads the string whose opening quote is text[*pos], appends its decoded
// bytes to `out` (when not null) and moves *pos past the closing quote. On
// error (InvalidArgument, saying what is wrong) *pos is at the bad byte.
absl::Status ScanJsonString(absl::string_view text, size_t* pos, std::string* out);

}  // namespace blimp::api

#endif  // BLIMP_API_JSON_STRING_H_

// A strict pre-pass over contract JSON, run by ParseJson before protobuf's
// JSON parser. protobuf follows the proto3 JSON mapping, which is lenient
// where the contract is not: it takes "1" and 1e2 for an integer, "yes" for a
// bool, lowerCamel aliases of field names, and a duplicated key silently
// replaces the first. This pass tokenizes the text once, guided by the
// message's descriptor, and refuses all of that before protobuf sees it.
#ifndef BLIMP_API_JSON_STRICT_H_
#define BLIMP_API_JSON_STRICT_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace blimp::api {

// Objects and arrays nested deeper than this are refused (our messages need
// 4 levels; protobuf's own limit is 100, reached by recursion).
inline constexpr int kMaxJsonDepth = 32;

// OK if `json` is one JSON object (RFC 8259, whitespace around it allowed)
// that keeps these rules for `descriptor`, field by field:
// - keys are the contract's names (json_name where the proto gives one, else
//   the field name), each at most once per object;
// - integer fields take a plain JSON integer (no quotes, fraction, exponent
//   or -0) within the field's type (no minus sign for unsigned types);
// - bool fields take true or false; string and enum fields a string;
//   floating-point fields a number; message fields an object; repeated
//   fields an array; map fields an object; null is refused everywhere;
// - strings hold no raw control characters and are valid UTF-8; escapes are
//   those of RFC 8259 (\u0000 is allowed here: validate.h decides per field);
// - nesting stays within kMaxJsonDepth.
// Values of well-known types (google.protobuf.*) get the syntax, duplicate-
// key and depth checks only. Every error is InvalidArgument naming the
// message and the field's path (e.g. "MachineConfig field
// 'machine-config.vcpu_count'").
absl::Status CheckStrictJson(absl::string_view json,
                             const google::protobuf::Descriptor& descriptor);

}  // namespace blimp::api

#endif  // BLIMP_API_JSON_STRICT_H_

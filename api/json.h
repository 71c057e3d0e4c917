// JSON <-> proto for the contract's objects, with the contract's exact field
// names. Parsing is strict (json_strict.h has the rules: no quoted or 1e2
// integers, no duplicated keys, no aliases, true/false only, no null):
// unknown fields, wrong types and malformed JSON are InvalidArgument errors
// naming the object and the field. Printing follows Firecracker:
// integers are JSON numbers (also 64-bit ones), fields with presence appear
// only when set, and a field with an explicit json_name (the config file's
// "boot-source") prints under that name.
#ifndef BLIMP_API_JSON_H_
#define BLIMP_API_JSON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace blimp::api {

absl::Status ParseJson(absl::string_view json, google::protobuf::Message* message);
std::string ToJson(const google::protobuf::Message& message);

}  // namespace blimp::api

#endif  // BLIMP_API_JSON_H_

// The error body every REST answer uses, from the router or the server
// itself: {"fault_message": "..."} as Firecracker sends it, always plain
// ASCII JSON whatever bytes the message holds.
#ifndef BLIMP_GATEWAY_FAULT_H_
#define BLIMP_GATEWAY_FAULT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "gateway/http_handler.h"

namespace blimp::gateway {

// `text` as a JSON string literal (quotes included); control characters and
// bytes outside ASCII become \u00XX escapes.
std::string JsonString(absl::string_view text);

// `status` with {"fault_message": message}.
HttpResponse Fault(int status, absl::string_view message);

}  // namespace blimp::gateway

#endif  // BLIMP_GATEWAY_FAULT_H_

// HTTP status codes for API results (absl status codes), as the balloon contract wants them:
// bad input and wrong state are 400 with a fault_message, like Firecracker.
#ifndef BLIMP_GATEWAY_HTTP_STATUS_H_
#define BLIMP_GATEWAY_HTTP_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace blimp::gateway {

// `vm_missing`: the NOT_FOUND means the VM itself is unknown (404); any other
// NOT_FOUND (a balloon call on a VM without one: "device not found") is 400.
int HttpStatusFor(absl::StatusCode code, bool vm_missing);

// "OK", "No Content", "Bad Request", ...
absl::string_view ReasonPhrase(int http_status);

}  // namespace blimp::gateway

#endif  // BLIMP_GATEWAY_HTTP_STATUS_H_

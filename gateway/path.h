// Splits an HTTP request path (as sent, still percent-encoded, without the
// query) into decoded segments, per RFC 3986 only as far as the gateway needs.
// Paths that could mean something else after decoding are refused: an
// encoded '/' or NUL, '.' or '..' segments, empty segments, bad escapes.
#ifndef BLIMP_GATEWAY_PATH_H_
#define BLIMP_GATEWAY_PATH_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace blimp::gateway {

// "/" -> {}; "/vms/a/balloon" -> {"vms", "a", "balloon"}. Errors are
// InvalidArgument with a message for the client.
absl::StatusOr<std::vector<std::string>> SplitPath(absl::string_view raw_path);

}  // namespace blimp::gateway

#endif  // BLIMP_GATEWAY_PATH_H_

// A Response's status, both ways: the VMM puts an absl::Status into a
// Response; blimpd (or the VMM's own REST gateway) takes it out. The only
// place the protocol's errors are converted.
#ifndef BLIMP_VMM_CONTROL_RESPONSE_STATUS_H_
#define BLIMP_VMM_CONTROL_RESPONSE_STATUS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "vmm/control/control.pb.h"

namespace blimp::vmm::control {

// A Response for `id` carrying `status` (and nothing else).
Response ErrorResponse(uint64_t id, const absl::Status& status);

// The status a Response carries (OK when its code is 0; Internal for a code
// absl does not know).
absl::Status ResponseStatus(const Response& response);

}  // namespace blimp::vmm::control

#endif  // BLIMP_VMM_CONTROL_RESPONSE_STATUS_H_

#include "vmm/control/response_status.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace blimp::vmm::control {

Response ErrorResponse(uint64_t id, const absl::Status& status) {
  Response response;
  response.set_id(id);
  response.set_code(static_cast<int>(status.code()));
  response.set_message(std::string(status.message()));
  return response;
}

absl::Status ResponseStatus(const Response& response) {
  if (response.code() == 0) return absl::OkStatus();
  if (response.code() < 0 ||
      response.code() > static_cast<int>(absl::StatusCode::kUnauthenticated)) {
    return absl::InternalError(absl::StrCat("blimp-vmm answered with unknown status code ",
                                            response.code(), ": ", response.message()));
  }
  return absl::Status(static_cast<absl::StatusCode>(response.code()), response.message());
}

}  // namespace blimp::vmm::control

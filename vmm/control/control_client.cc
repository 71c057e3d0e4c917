#include "vmm/control/control_client.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "vmm/control/framing.h"
#include "vmm/control/response_status.h"

namespace blimp::vmm::control {

VmmClient::VmmClient(std::string socket_path, int max_connections)
    : socket_path_(std::move(socket_path)), max_connections_(max_connections) {}

absl::StatusOr<base::UniqueFd> VmmClient::Acquire(absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < max_connections_;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&available), deadline)) {
      return absl::DeadlineExceededError(
          absl::StrCat("all ", max_connections_, " control connections to ", socket_path_,
                       " stayed busy"));
    }
    if (!idle_.empty()) {
      base::UniqueFd fd = std::move(idle_.back());
      idle_.pop_back();
      return fd;
    }
    ++open_;
  }
  absl::StatusOr<base::UniqueFd> fd = ConnectSeqpacket(socket_path_, deadline);
  if (!fd.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
  }
  return fd;
}

void VmmClient::Release(base::UniqueFd fd, bool healthy) {
  absl::MutexLock lock(&mu_);
  if (healthy) {
    idle_.push_back(std::move(fd));
  } else {
    --open_;
  }
}

absl::StatusOr<Response> VmmClient::Call(Request request, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  request.set_id(next_id_.fetch_add(1));
  ASSIGN_OR_RETURN(base::UniqueFd fd, Acquire(deadline));
  absl::Status status = SendFrame(fd.get(), request, deadline);
  // An idle pooled connection may have been closed by a restarted VMM: one
  // fresh try.
  if (status.code() == absl::StatusCode::kUnavailable) {
    Release(std::move(fd), false);
    ASSIGN_OR_RETURN(fd, Acquire(deadline));
    status = SendFrame(fd.get(), request, deadline);
  }
  Response response;
  if (status.ok()) status = ReceiveFrame(fd.get(), &response, deadline);
  if (status.ok() && response.id() != request.id()) {
    status = absl::DataLossError(absl::StrCat("control answer ", response.id(),
                                              " for request ", request.id()));
  }
  Release(std::move(fd), status.ok());
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("blimp-vmm on ", socket_path_, ": ", status.message()));
  }
  RETURN_IF_ERROR(ResponseStatus(response));
  return response;
}

absl::StatusOr<base::UniqueFd> VmmClient::Watch(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  ASSIGN_OR_RETURN(base::UniqueFd fd, ConnectSeqpacket(socket_path_, deadline));
  Request request;
  request.set_id(next_id_.fetch_add(1));
  request.mutable_watch_statistics();
  RETURN_IF_ERROR(SendFrame(fd.get(), request, deadline));
  return fd;
}

absl::StatusOr<blimp::v1::BalloonStats> VmmClient::ReadWatch(int fd, absl::Duration timeout) {
  Response response;
  RETURN_IF_ERROR(ReceiveFrame(fd, &response, absl::Now() + timeout));
  RETURN_IF_ERROR(ResponseStatus(response));
  if (!response.has_stats()) return absl::DataLossError("a watch answer without statistics");
  return response.stats();
}

}  // namespace blimp::vmm::control

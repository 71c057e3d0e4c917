// The one converter between absl::Status and grpc::Status, used at the gRPC
// edge. Codes map 1:1 (both follow google.rpc.Code); the message is kept.
#ifndef BLIMP_BASE_GRPC_STATUS_H_
#define BLIMP_BASE_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace blimp::base {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace blimp::base

#endif  // BLIMP_BASE_GRPC_STATUS_H_

#include "base/grpc_status.h"

#include "gtest/gtest.h"

namespace blimp::base {
namespace {

TEST(GrpcStatusTest, OkMapsToOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(GrpcStatusTest, CodeAndMessageSurviveTheRoundTrip) {
  const absl::Status cases[] = {
      absl::InvalidArgumentError("amount too large"),
      absl::FailedPreconditionError("not started"),
      absl::NotFoundError("no such VM"),
      absl::UnavailableError("vmm gone"),
      absl::InternalError("boom"),
  };
  for (const absl::Status& status : cases) {
    grpc::Status g = ToGrpcStatus(status);
    EXPECT_EQ(static_cast<int>(g.error_code()), static_cast<int>(status.code()));
    EXPECT_EQ(g.error_message(), status.message());
    EXPECT_EQ(FromGrpcStatus(g), status);
  }
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("x")).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace blimp::base

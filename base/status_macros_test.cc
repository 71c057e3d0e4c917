#include "base/status_macros.h"

#include <memory>

#include "base/errno_status.h"
#include "gtest/gtest.h"

namespace blimp::base {
namespace {

absl::Status FailIf(bool fail) {
  return fail ? absl::InvalidArgumentError("bad") : absl::OkStatus();
}

absl::Status Chain(bool fail, int* reached) {
  RETURN_IF_ERROR(FailIf(fail));
  *reached = 1;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<int>> MakeInt(bool fail) {
  if (fail) return absl::NotFoundError("none");
  return std::make_unique<int>(7);
}

absl::StatusOr<int> Unwrap(bool fail) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> value, MakeInt(fail));  // Move-only.
  int sum = *value;
  ASSIGN_OR_RETURN(value, MakeInt(false));  // Existing variable.
  return sum + *value;
}

TEST(StatusMacrosTest, ReturnIfErrorStopsOnError) {
  int reached = 0;
  EXPECT_EQ(Chain(true, &reached).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reached, 0);
  EXPECT_TRUE(Chain(false, &reached).ok());
  EXPECT_EQ(reached, 1);
}

TEST(StatusMacrosTest, AssignOrReturnUnwrapsOrPropagates) {
  EXPECT_EQ(*Unwrap(false), 14);
  EXPECT_EQ(Unwrap(true).status().code(), absl::StatusCode::kNotFound);
}

TEST(StatusMacrosTest, ErrnoStatusNamesTheCall) {
  absl::Status status = ErrnoStatus("open(/nope)", ENOENT);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(status.message().find("open(/nope)"), absl::string_view::npos);
}

}  // namespace
}  // namespace blimp::base

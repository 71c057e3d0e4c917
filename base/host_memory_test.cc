#include "base/host_memory.h"

#include "gtest/gtest.h"

namespace blimp::base {
namespace {

TEST(HostMemoryTest, SmallFitsAndHugeDoesNot) {
  EXPECT_TRUE(CheckMemoryFitsHost(64).ok());
  absl::Status huge = CheckMemoryFitsHost(uint64_t{1} << 40);
  EXPECT_EQ(huge.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(huge.message().find("is more than this host's memory"), std::string::npos) << huge;
}

}  // namespace
}  // namespace blimp::base

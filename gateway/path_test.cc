#include "gateway/path.h"

#include "gateway/http_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace blimp::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(SplitPathTest, Decodes) {
  EXPECT_THAT(*SplitPath("/"), IsEmpty());
  EXPECT_THAT(*SplitPath("/balloon/statistics"), ElementsAre("balloon", "statistics"));
  EXPECT_THAT(*SplitPath("/vms/my%2Dvm"), ElementsAre("vms", "my-vm"));
  EXPECT_THAT(*SplitPath("/vms/a%20b"), ElementsAre("vms", "a b"));  // ValidateVmId refuses.
}

TEST(SplitPathTest, RefusesAmbiguousPaths) {
  for (const char* path : {"", "balloon", "//", "/a//b", "/a/", "/..", "/.", "/a/../b",
                           "/%2e%2e", "/%2E", "/a%2fb", "/a%2Fb", "/a%5Cb", "/a%00", "/a%",
                           "/a%4", "/a%zz"}) {
    EXPECT_EQ(SplitPath(path).status().code(), absl::StatusCode::kInvalidArgument) << path;
  }
}

TEST(HttpStatusTest, ContractMapping) {
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kInvalidArgument, false), 400);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kFailedPrecondition, false), 400);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kAlreadyExists, false), 400);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kNotFound, false), 400);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kNotFound, true), 404);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kInternal, false), 500);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnknown, false), 500);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnavailable, false), 503);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kDeadlineExceeded, false), 504);
  EXPECT_EQ(ReasonPhrase(204), "No Content");
  EXPECT_EQ(ReasonPhrase(413), "Payload Too Large");
}

}  // namespace
}  // namespace blimp::gateway

#include "base/dashed_flags.h"

#include "gtest/gtest.h"

namespace blimp::base {
namespace {

TEST(DashedFlagsTest, RewritesFlagNamesOnly) {
  const char* argv[] = {"prog", "--config-file=/a-b/c-d.json", "--control-sock", "/x-y",
                        "-wait-for-start", "plain-arg", "--", "--not-a-flag"};
  std::vector<std::string> args = DashesToUnderscores(8, const_cast<char**>(argv));
  EXPECT_EQ(args[0], "prog");
  EXPECT_EQ(args[1], "--config_file=/a-b/c-d.json");
  EXPECT_EQ(args[2], "--control_sock");
  EXPECT_EQ(args[3], "/x-y");
  EXPECT_EQ(args[4], "-wait_for_start");
  EXPECT_EQ(args[5], "plain-arg");
  EXPECT_EQ(args[7], "--not-a-flag");
}

TEST(DashedFlagsTest, NormalizedArgsIsNullTerminated) {
  const char* argv[] = {"prog", "--a-b"};
  NormalizedArgs args(2, const_cast<char**>(argv));
  ASSERT_EQ(args.argc(), 2);
  EXPECT_STREQ(args.argv()[1], "--a_b");
  EXPECT_EQ(args.argv()[2], nullptr);
}

}  // namespace
}  // namespace blimp::base

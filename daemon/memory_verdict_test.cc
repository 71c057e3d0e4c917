// MemoryVerdict: over the slack for the grace period flags (once), a break
// restarts the clock, a sample under the line clears, counts survive.
#include "daemon/memory_verdict.h"

#include "gtest/gtest.h"

namespace blimp::daemon {
namespace {

constexpr uint64_t kMiB = 1 << 20;
using Change = MemoryVerdict::Change;

TEST(MemoryVerdictTest, FlagsOnlyAfterTheGracePeriodOverTheSlack) {
  MemoryVerdict verdict({.slack_bytes = 16 * kMiB, .grace = absl::Seconds(3)});
  const absl::Time t0 = absl::UnixEpoch();
  // Within the slack: never.
  EXPECT_EQ(verdict.Sample(t0, 80 * kMiB, 64 * kMiB), Change::kNone);
  EXPECT_EQ(verdict.Sample(t0 + absl::Seconds(10), 80 * kMiB, 64 * kMiB), Change::kNone);
  EXPECT_FALSE(verdict.flagged());
  // Over, but not for 3 s yet.
  EXPECT_EQ(verdict.Sample(t0 + absl::Seconds(11), 81 * kMiB, 64 * kMiB), Change::kNone);
  EXPECT_EQ(verdict.Sample(t0 + absl::Seconds(13), 120 * kMiB, 64 * kMiB), Change::kNone);
  EXPECT_EQ(verdict.Sample(t0 + absl::Seconds(14), 120 * kMiB, 64 * kMiB), Change::kFlagged);
  EXPECT_TRUE(verdict.flagged());
  EXPECT_EQ(verdict.flag_count(), 1u);
  EXPECT_NE(verdict.reason().find("120 MiB"), std::string::npos) << verdict.reason();
  EXPECT_NE(verdict.reason().find("64 MiB"), std::string::npos) << verdict.reason();
  EXPECT_EQ(verdict.Sample(t0 + absl::Seconds(15), 120 * kMiB, 64 * kMiB), Change::kNone);
  // Back under: cleared, the count stays.
  EXPECT_EQ(verdict.Sample(t0 + absl::Seconds(16), 60 * kMiB, 64 * kMiB), Change::kCleared);
  EXPECT_FALSE(verdict.flagged());
  EXPECT_EQ(verdict.reason(), "");
  EXPECT_EQ(verdict.flag_count(), 1u);
}

TEST(MemoryVerdictTest, ABreakRestartsTheClock) {
  MemoryVerdict verdict({.slack_bytes = 0, .grace = absl::Seconds(3)});
  const absl::Time t0 = absl::UnixEpoch();
  for (int i = 0; i < 10; ++i) {
    // Over for 2 s, then under once: a balloon on the move, never flagged.
    EXPECT_EQ(verdict.Sample(t0 + absl::Seconds(3 * i), 100 * kMiB, 64 * kMiB), Change::kNone);
    EXPECT_EQ(verdict.Sample(t0 + absl::Seconds(3 * i + 2), 100 * kMiB, 64 * kMiB), Change::kNone);
    EXPECT_EQ(verdict.Sample(t0 + absl::Seconds(3 * i + 2.5), 64 * kMiB, 64 * kMiB), Change::kNone);
  }
  EXPECT_EQ(verdict.flag_count(), 0u);
}

}  // namespace
}  // namespace blimp::daemon

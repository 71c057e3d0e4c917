// StatsSanity: honest statistics pass (counters growing or steady, fields
// left out), each impossible value is counted with its numbers, and the
// flag stays once raised.
#include "daemon/stats_sanity.h"

#include "gtest/gtest.h"

namespace blimp::daemon {
namespace {

constexpr uint64_t kMiB = 1 << 20;

blimp::v1::BalloonStats Honest(uint64_t faults) {
  blimp::v1::BalloonStats stats;
  stats.set_total_memory(120 * kMiB);
  stats.set_free_memory(60 * kMiB);
  stats.set_available_memory(70 * kMiB);
  stats.set_minor_faults(faults);
  stats.set_oom_kill(0);
  return stats;
}

TEST(StatsSanityTest, HonestStatisticsPass) {
  StatsSanity sanity;
  EXPECT_EQ(sanity.Check(Honest(10), 128 * kMiB), "");
  EXPECT_EQ(sanity.Check(Honest(10), 128 * kMiB), "");
  EXPECT_EQ(sanity.Check(Honest(500), 128 * kMiB), "");
  blimp::v1::BalloonStats partial;  // A tag left out keeps no value to compare.
  partial.set_free_memory(1);
  EXPECT_EQ(sanity.Check(partial, 128 * kMiB), "");
  EXPECT_FALSE(sanity.flagged());
}

TEST(StatsSanityTest, ImpossibleValuesAreCountedAndFlagStays) {
  StatsSanity sanity;
  blimp::v1::BalloonStats stats = Honest(10);
  stats.set_free_memory(200 * kMiB);
  stats.set_available_memory(300 * kMiB);
  const std::string found = sanity.Check(stats, 128 * kMiB);
  EXPECT_NE(found.find("free_memory 209715200 > total_memory 125829120"), std::string::npos)
      << found;
  EXPECT_NE(found.find("available_memory"), std::string::npos) << found;
  EXPECT_EQ(sanity.anomalies(), 2u);
  EXPECT_TRUE(sanity.flagged());
  // A counter going backwards.
  EXPECT_NE(sanity.Check(Honest(5), 128 * kMiB).find("minor_faults went backwards: 10 -> 5"),
            std::string::npos);
  EXPECT_EQ(sanity.anomalies(), 3u);
  // More RAM than the VM has.
  blimp::v1::BalloonStats big = Honest(5);
  big.set_total_memory(4096 * kMiB);
  EXPECT_NE(sanity.Check(big, 128 * kMiB).find("> the VM's RAM"), std::string::npos);
  // Honest again: the flag stays, with the first anomaly.
  EXPECT_EQ(sanity.Check(Honest(6), 128 * kMiB), "");
  EXPECT_TRUE(sanity.flagged());
  EXPECT_NE(sanity.first().find("free_memory"), std::string::npos);
}

}  // namespace
}  // namespace blimp::daemon

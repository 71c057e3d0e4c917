#include "client/policy.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace blimp::client {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kMib = 1024 * 1024;
const absl::Time kNow = absl::FromUnixSeconds(1'000'000);

VmMemoryState Vm(const std::string& id, uint32_t mem, uint32_t target, uint64_t avail_mib,
                 absl::Duration age = absl::Seconds(1)) {
  VmMemoryState vm;
  vm.id = id;
  vm.mem_size_mib = mem;
  vm.target_mib = target;
  vm.actual_mib = target;
  vm.stats_actual_mib = target;
  vm.has_stats = true;
  vm.available_bytes = avail_mib * kMib;
  vm.free_bytes = avail_mib * kMib;
  vm.total_bytes = (mem - target) * kMib;
  vm.stats_time = kNow - age;
  return vm;
}

PolicyOptions Options(uint32_t budget) {
  PolicyOptions options;
  options.budget_mib = budget;  // Band 15%..30%, floor 128, step 256.
  return options;
}

// 512 MiB: band 77..154 MiB, middle 115 MiB.
TEST(PolicyTest, IdleGuestInflatesTowardTheMiddle) {
  auto decisions = DecideTargets({Vm("a", 512, 0, 200)}, Options(10000), kNow);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].new_target_mib, 200u - 115u);
  EXPECT_THAT(decisions[0].reason, HasSubstr("idle"));
}

TEST(PolicyTest, StepLimitsOneRound) {
  auto decisions = DecideTargets({Vm("a", 1024, 0, 1000)}, Options(10000), kNow);
  EXPECT_EQ(decisions[0].new_target_mib, 256u);
}

TEST(PolicyTest, NoActionInsideTheBand) {
  auto decisions = DecideTargets({Vm("a", 512, 100, 120), Vm("b", 512, 0, 80)}, Options(10000),
                                 kNow);
  for (const Decision& d : decisions) {
    EXPECT_FALSE(d.changed()) << d.id << ": " << d.reason;
    EXPECT_THAT(d.reason, HasSubstr("in band"));
  }
}

TEST(PolicyTest, PressuredGuestGetsMemoryFromIdleOnes) {
  // Budget = what is backed now: the pressured guest can only be paid by the
  // idle one.
  std::vector<VmMemoryState> vms = {Vm("busy", 512, 200, 20), Vm("idle", 512, 0, 400)};
  auto decisions = DecideTargets(vms, Options(312 + 512), kNow);
  EXPECT_EQ(decisions[0].new_target_mib, 200u - 95u);  // Up to the middle (115 MiB).
  EXPECT_THAT(decisions[0].reason, HasSubstr("pressure"));
  EXPECT_GT(decisions[1].new_target_mib, 0u);
  EXPECT_LE(BackedMib(vms, decisions), 312 + 512);
}

TEST(PolicyTest, AFlaggedGuestIsNeverGivenMemory) {
  // Under pressure with room in the budget, and above the floor's target:
  // an honest guest would be deflated both ways; a flagged one is not.
  VmMemoryState liar = Vm("liar", 512, 450, 1);
  liar.flagged = "guest holds 500 MiB of RAM, the balloon leaves it 62 MiB";
  std::vector<VmMemoryState> vms = {liar, Vm("honest", 512, 450, 1)};
  auto decisions = DecideTargets(vms, Options(10000), kNow);
  EXPECT_EQ(decisions[0].new_target_mib, 450u) << decisions[0].reason;
  EXPECT_THAT(decisions[0].reason, HasSubstr("flagged by blimpd"));
  EXPECT_THAT(decisions[0].reason, HasSubstr("500 MiB"));
  EXPECT_LT(decisions[1].new_target_mib, 450u) << decisions[1].reason;
  // Over budget it can still be made to give memory back.
  VmMemoryState rich = Vm("rich", 1024, 0, 900);
  rich.flagged = "impossible statistics";
  auto over = DecideTargets({rich}, Options(512), kNow);
  EXPECT_GT(over[0].new_target_mib, 0u) << over[0].reason;
}

TEST(PolicyTest, InBandGuestsFundPressureWhenNobodyIsIdle) {
  std::vector<VmMemoryState> vms = {Vm("busy", 512, 200, 20), Vm("calm", 512, 100, 150)};
  auto decisions = DecideTargets(vms, Options(312 + 412), kNow);
  // calm keeps 77 + 19 = 96 MiB: gives 54; busy gets those 54 of the 95 it wants.
  EXPECT_EQ(decisions[1].new_target_mib, 154u);
  EXPECT_THAT(decisions[1].reason, HasSubstr("donor"));
  EXPECT_EQ(decisions[0].new_target_mib, 146u);
  EXPECT_THAT(decisions[0].reason, HasSubstr("budget allows 54 of 95"));
  EXPECT_LE(BackedMib(vms, decisions), 312 + 412);
}

TEST(PolicyTest, MostPressuredGuestFirstWhenTheBudgetIsTight) {
  std::vector<VmMemoryState> vms = {Vm("some", 512, 200, 60), Vm("worst", 512, 200, 10)};
  auto decisions = DecideTargets(vms, Options(312 + 312 + 50), kNow);
  EXPECT_EQ(decisions[1].new_target_mib, 150u);  // All 50 MiB go to "worst".
  EXPECT_EQ(decisions[0].new_target_mib, 200u);
  EXPECT_THAT(decisions[0].reason, HasSubstr("budget is exhausted"));
}

TEST(PolicyTest, FloorIsRespected) {
  // 256 MiB, floor 128: at most 128 in the balloon however idle the guest.
  auto decisions = DecideTargets({Vm("a", 256, 100, 150), Vm("b", 256, 200, 50)}, Options(10000),
                                 kNow);
  EXPECT_EQ(decisions[0].new_target_mib, 128u);
  EXPECT_EQ(decisions[1].new_target_mib, 128u);
  EXPECT_THAT(decisions[1].reason, HasSubstr("floor"));
}

TEST(PolicyTest, OverBudgetTakesFromTheRichestKeepingTheBand) {
  // Three fresh 512 MiB guests with empty balloons and 300 MiB available,
  // under 900 MiB: the idle step already brings them to 3 * 327 = 981, the
  // rest comes from the richest without leaving the band.
  std::vector<VmMemoryState> vms = {Vm("a", 512, 0, 300), Vm("b", 512, 0, 300),
                                    Vm("c", 512, 0, 300)};
  auto decisions = DecideTargets(vms, Options(900), kNow);
  EXPECT_LE(BackedMib(vms, decisions), 900);
  for (const Decision& d : decisions) EXPECT_LE(d.new_target_mib, 512u - 128u) << d.reason;
}

TEST(PolicyTest, StaleStatisticsAreIgnored) {
  auto decisions = DecideTargets({Vm("old", 512, 0, 400, absl::Seconds(30)), Vm("fresh", 512, 0, 400)},
                                 Options(10000), kNow);
  EXPECT_FALSE(decisions[0].changed());
  EXPECT_THAT(decisions[0].reason, HasSubstr("stale"));
  EXPECT_TRUE(decisions[1].changed());
  VmMemoryState none = Vm("none", 512, 0, 0);
  none.has_stats = false;
  decisions = DecideTargets({none}, Options(10000), kNow);
  EXPECT_FALSE(decisions[0].changed());
  EXPECT_THAT(decisions[0].reason, HasSubstr("no statistics"));
}

TEST(PolicyTest, MovingBalloonIsNotPushedTwice) {
  // Target 200 set, the guest got to 0 so far: it reported 300 MiB with the
  // balloon empty, so at the target it will have 100: in the band.
  VmMemoryState vm = Vm("a", 512, 200, 300);
  vm.actual_mib = 0;
  vm.stats_actual_mib = 0;
  auto decisions = DecideTargets({vm}, Options(10000), kNow);
  EXPECT_FALSE(decisions[0].changed()) << decisions[0].reason;
  // The balloon got there since, but the statistics are from before: the
  // same projection.
  vm.actual_mib = 200;
  decisions = DecideTargets({vm}, Options(10000), kNow);
  EXPECT_FALSE(decisions[0].changed()) << decisions[0].reason;
}

TEST(PolicyTest, WaitsForStatisticsNewerThanTheLastChange) {
  VmMemoryState vm = Vm("a", 512, 200, 20);  // Under pressure...
  vm.last_change = vm.stats_time + absl::Milliseconds(1);  // ...but we just acted.
  auto decisions = DecideTargets({vm}, Options(10000), kNow);
  EXPECT_FALSE(decisions[0].changed());
  EXPECT_THAT(decisions[0].reason, HasSubstr("waiting for statistics"));
  vm.last_change = vm.stats_time - absl::Milliseconds(1);
  EXPECT_TRUE(DecideTargets({vm}, Options(10000), kNow)[0].changed());
}

TEST(PolicyTest, SameInputSameOutput) {
  std::vector<VmMemoryState> vms = {Vm("a", 512, 200, 20), Vm("b", 512, 0, 400),
                                    Vm("c", 512, 50, 100)};
  auto first = DecideTargets(vms, Options(1000), kNow);
  auto second = DecideTargets(vms, Options(1000), kNow);
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].new_target_mib, second[i].new_target_mib);
    EXPECT_EQ(first[i].reason, second[i].reason);
  }
}

// A fleet whose guests use a fixed amount of memory: available = mem - target
// - used. Applying the decisions round after round settles, then stays put.
TEST(PolicyTest, SettlesWithoutOscillation) {
  struct Guest {
    uint32_t mem, used, target;
  };
  std::vector<Guest> guests = {{512, 450, 0}, {512, 60, 0}, {512, 100, 0}};
  const PolicyOptions options = Options(1000);
  int last_change = -1;
  for (int round = 0; round < 30; ++round) {
    std::vector<VmMemoryState> vms;
    for (size_t i = 0; i < guests.size(); ++i) {
      const Guest& g = guests[i];
      vms.push_back(Vm(std::string(1, 'a' + i), g.mem, g.target, g.mem - g.target - g.used));
    }
    auto decisions = DecideTargets(vms, options, kNow);
    ASSERT_LE(BackedMib(vms, decisions), options.budget_mib);
    for (size_t i = 0; i < guests.size(); ++i) {
      if (decisions[i].changed()) last_change = round;
      guests[i].target = decisions[i].new_target_mib;
    }
  }
  EXPECT_LT(last_change, 10);
  // The busy guest got memory: 512 - 450 = 62 available at 0; it stays at 0
  // (its balloon is empty), the idle ones sit in their band.
  EXPECT_EQ(guests[0].target, 0u);
  for (size_t i = 1; i < guests.size(); ++i) {
    const uint32_t avail = guests[i].mem - guests[i].target - guests[i].used;
    EXPECT_GE(avail, 77u);
    EXPECT_LE(avail, 154u);
  }
}

// Random fleets: the budget (when the floors allow it), the floor and the
// memory size are never violated.
TEST(PolicyTest, RandomFleetsKeepTheHardLimits) {
  std::mt19937 random(42);
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<VmMemoryState> vms;
    const int count = 1 + random() % 6;
    int64_t minimum = 0;
    for (int i = 0; i < count; ++i) {
      const uint32_t mem = 128 + random() % 2048;
      const uint32_t target = random() % (mem + 1);
      const uint64_t avail = random() % (mem - target + 1);
      VmMemoryState vm = Vm(absl::StrCat("vm", i), mem, target, avail,
                            absl::Seconds(random() % 15));
      vm.actual_mib = random() % (mem + 1);
      vm.stats_actual_mib = random() % (mem + 1);
      if (random() % 4 == 0) vm.last_change = vm.stats_time + absl::Seconds(1);
      vm.has_stats = random() % 8 != 0;
      vms.push_back(vm);
      minimum += std::min<int64_t>(mem, 128);
    }
    PolicyOptions options = Options(random() % 6000);
    auto decisions = DecideTargets(vms, options, kNow);
    ASSERT_EQ(decisions.size(), vms.size());
    if (minimum <= options.budget_mib) {
      ASSERT_LE(BackedMib(vms, decisions), options.budget_mib) << "trial " << trial;
    }
    for (size_t i = 0; i < vms.size(); ++i) {
      const uint32_t max_target = vms[i].mem_size_mib - 128;
      ASSERT_LE(decisions[i].new_target_mib, max_target) << decisions[i].reason;
      ASSERT_FALSE(decisions[i].reason.empty());
    }
  }
}

}  // namespace
}  // namespace blimp::client

#include "base/timer_fd.h"

#include <poll.h>

#include "gtest/gtest.h"

namespace blimp::base {
namespace {

TEST(TimerFdTest, OneShotFiresOnce) {
  auto timer = TimerFd::Create();
  ASSERT_TRUE(timer.ok()) << timer.status();
  ASSERT_TRUE(timer->Arm(absl::Milliseconds(5), absl::ZeroDuration()).ok());
  pollfd p{timer->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 1000), 1);
  EXPECT_EQ(*timer->Read(), 1u);
  EXPECT_EQ(::poll(&p, 1, 30), 0);
}

TEST(TimerFdTest, PeriodicCountsExpirations) {
  auto timer = TimerFd::Create();
  ASSERT_TRUE(timer.ok());
  ASSERT_TRUE(timer->Arm(absl::Milliseconds(1), absl::Milliseconds(1)).ok());
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_GE(*timer->Read(), 5u);
}

TEST(TimerFdTest, ZeroFirstStillFiresAndDisarmStops) {
  auto timer = TimerFd::Create();
  ASSERT_TRUE(timer.ok());
  ASSERT_TRUE(timer->Arm(absl::ZeroDuration(), absl::ZeroDuration()).ok());
  pollfd p{timer->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 1000), 1);
  ASSERT_TRUE(timer->Read().ok());
  ASSERT_TRUE(timer->Arm(absl::Milliseconds(10), absl::Milliseconds(10)).ok());
  ASSERT_TRUE(timer->Disarm().ok());
  EXPECT_EQ(::poll(&p, 1, 40), 0);
  EXPECT_EQ(*timer->Read(), 0u);
}

}  // namespace
}  // namespace blimp::base

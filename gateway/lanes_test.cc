#include "gateway/lanes.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace blimp::gateway {
namespace {

TEST(LanesTest, RunsTasksAndThreadsExitWhenIdle) {
  Lanes lanes(
      {.concurrency = 2, .queue_limit = 8, .max_threads = 4, .idle_exit = absl::Milliseconds(50)});
  std::atomic<int> ran{0};
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(lanes.Submit(i % 2 ? "a" : "b", [&] { ++ran; }));
  }
  ASSERT_TRUE(lanes.WaitUntilIdle(absl::Seconds(10)));
  EXPECT_EQ(ran.load(), 10);
  EXPECT_EQ(lanes.stats().threads, 0);
  EXPECT_EQ(lanes.stats().lanes, 0u);
}

TEST(LanesTest, ABlockedLaneNeverDelaysAnotherAndOverflows) {
  Lanes lanes(
      {.concurrency = 2, .queue_limit = 3, .max_threads = 8, .idle_exit = absl::Seconds(10)});
  absl::Notification release;
  std::atomic<int> started_a{0};
  // 2 run (blocked), 3 wait, the 6th is refused.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(lanes.Submit("a", [&] {
      ++started_a;
      release.WaitForNotification();
    })) << i;
  }
  EXPECT_FALSE(lanes.Submit("a", [] {}));
  for (int i = 0; i < 20; ++i) {
    absl::Notification done;
    const absl::Time start = absl::Now();
    ASSERT_TRUE(lanes.Submit("b", [&] { done.Notify(); }));
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(5)));
    EXPECT_LT(absl::Now() - start, absl::Milliseconds(100));
  }
  EXPECT_EQ(started_a.load(), 2);  // The lane's concurrency holds.
  EXPECT_EQ(lanes.stats().queued, 3u);
  release.Notify();
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while ((lanes.stats().running > 0 || lanes.stats().queued > 0) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(started_a.load(), 5);
  EXPECT_EQ(lanes.stats().lanes, 0u);
}

TEST(LanesTest, ConcurrencyPerLaneAndGlobalThreadCap) {
  Lanes lanes(
      {.concurrency = 3, .queue_limit = 100, .max_threads = 4, .idle_exit = absl::Seconds(10)});
  absl::Mutex mu;
  int running = 0, peak = 0;
  std::atomic<int> done{0};
  absl::Notification go;
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(lanes.Submit("x", [&] {
      {
        absl::MutexLock lock(&mu);
        peak = std::max(peak, ++running);
      }
      go.WaitForNotificationWithTimeout(absl::Seconds(10));
      absl::MutexLock lock(&mu);
      --running;
      ++done;
    }));
  }
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(lanes.Submit(absl::StrCat("y", i % 5), [&] { ++done; }));
  // Three of lane x run (its concurrency), one thread is left for lane y.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (done.load() < 30 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(done.load(), 30);
  EXPECT_EQ(lanes.stats().running, 3);
  EXPECT_LE(lanes.stats().threads, 4);
  go.Notify();
  deadline = absl::Now() + absl::Seconds(20);
  while (done.load() < 60 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(done.load(), 60);
  EXPECT_EQ(peak, 3);
  EXPECT_LE(lanes.stats().threads, 4);
}

TEST(LanesTest, ShutdownDropsWaitingTasksAndWaitsForRunningOnes) {
  absl::Notification release, started;
  std::atomic<int> ran{0};
  auto lanes = std::make_unique<Lanes>(LanesOptions{.concurrency = 1});
  ASSERT_TRUE(lanes->Submit("a", [&] {
    started.Notify();
    release.WaitForNotification();
    ++ran;
  }));
  ASSERT_TRUE(lanes->Submit("a", [&] { ++ran; }));
  started.WaitForNotification();
  lanes->Shutdown();
  EXPECT_FALSE(lanes->Submit("b", [&] { ++ran; }));
  std::thread releaser([&] {
    absl::SleepFor(absl::Milliseconds(50));
    release.Notify();
  });
  lanes.reset();  // Waits for the running task.
  EXPECT_EQ(ran.load(), 1);
  releaser.join();
}

}  // namespace
}  // namespace blimp::gateway

#include "base/event_loop.h"

#include <sys/epoll.h>

#include <thread>

#include "base/event_fd.h"
#include "gtest/gtest.h"

namespace blimp::base {
namespace {

TEST(EventLoopTest, CallsCallbackWhenFdIsReady) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok()) << loop.status();
  auto efd = EventFd::Create();
  ASSERT_TRUE(efd.ok());
  int calls = 0;
  ASSERT_TRUE((*loop)
                  ->Add(efd->fd(), EPOLLIN,
                        [&](uint32_t events) {
                          EXPECT_TRUE(events & EPOLLIN);
                          efd->Read().IgnoreError();
                          ++calls;
                        })
                  .ok());
  ASSERT_TRUE((*loop)->RunOnce(0).ok());
  EXPECT_EQ(calls, 0);
  ASSERT_TRUE(efd->Write().ok());
  ASSERT_TRUE((*loop)->RunOnce(1000).ok());
  EXPECT_EQ(calls, 1);
}

TEST(EventLoopTest, RejectsDuplicateAndUnknownFds) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  auto efd = EventFd::Create();
  ASSERT_TRUE(efd.ok());
  ASSERT_TRUE((*loop)->Add(efd->fd(), EPOLLIN, [](uint32_t) {}).ok());
  EXPECT_EQ((*loop)->Add(efd->fd(), EPOLLIN, [](uint32_t) {}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE((*loop)->Remove(efd->fd()).ok());
  EXPECT_EQ((*loop)->Remove(efd->fd()).code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE((*loop)->Add(-1, EPOLLIN, [](uint32_t) {}).ok());
}

TEST(EventLoopTest, CallbackRemovedByEarlierCallbackIsNotCalled) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  auto a = EventFd::Create();
  auto b = EventFd::Create();
  ASSERT_TRUE(a.ok() && b.ok());
  int calls = 0;
  auto remove_other = [&](int other) {
    return [&, other](uint32_t) {
      ++calls;
      (*loop)->Remove(other).IgnoreError();
    };
  };
  ASSERT_TRUE((*loop)->Add(a->fd(), EPOLLIN, remove_other(b->fd())).ok());
  ASSERT_TRUE((*loop)->Add(b->fd(), EPOLLIN, remove_other(a->fd())).ok());
  ASSERT_TRUE(a->Write().ok());
  ASSERT_TRUE(b->Write().ok());
  ASSERT_TRUE((*loop)->RunOnce(1000).ok());
  EXPECT_EQ(calls, 1);
}

TEST(EventLoopTest, StopFromAnotherThreadEndsRun) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  std::thread stopper([&] {
    absl::SleepFor(absl::Milliseconds(20));
    (*loop)->Stop();
  });
  EXPECT_TRUE((*loop)->Run().ok());
  stopper.join();
}

}  // namespace
}  // namespace blimp::base

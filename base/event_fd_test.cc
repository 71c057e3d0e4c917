#include "base/event_fd.h"

#include <poll.h>

#include "gtest/gtest.h"

namespace blimp::base {
namespace {

TEST(EventFdTest, ReadReturnsSumOfWritesAndResets) {
  auto efd = EventFd::Create();
  ASSERT_TRUE(efd.ok()) << efd.status();
  EXPECT_EQ(*efd->Read(), 0u);
  ASSERT_TRUE(efd->Write(2).ok());
  ASSERT_TRUE(efd->Write(3).ok());
  EXPECT_EQ(*efd->Read(), 5u);
  EXPECT_EQ(*efd->Read(), 0u);
}

TEST(EventFdTest, WriteMakesFdReadable) {
  auto efd = EventFd::Create();
  ASSERT_TRUE(efd.ok());
  pollfd p{efd->fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  ASSERT_TRUE(efd->Write().ok());
  EXPECT_EQ(::poll(&p, 1, 0), 1);
}

TEST(EventFdTest, OverflowIsAnError) {
  auto efd = EventFd::Create();
  ASSERT_TRUE(efd.ok());
  ASSERT_TRUE(efd->Write(0xfffffffffffffffeull).ok());
  EXPECT_FALSE(efd->Write(1).ok());  // Non-blocking: EAGAIN.
}

}  // namespace
}  // namespace blimp::base

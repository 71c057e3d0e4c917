#include "device/virtio/split_queue.h"

#include "device/virtio/testing/fake_driver.h"
#include "gtest/gtest.h"

namespace blimp::device::virtio {
namespace {

using memory::GuestAddress;
using memory::GuestMemory;

constexpr uint16_t kSize = 8;

class SplitQueueTest : public ::testing::Test {
 protected:
  SplitQueueTest()
      : memory_(*GuestMemory::CreateRam(1 << 20)),
        driver_(memory_, kSize, 0x1000, 0x2000, 0x3000),
        queue_(16) {}
  void SetUp() override { ASSERT_TRUE(driver_.Configure(queue_).ok()); }

  // Pops and expects an error (a malformed chain).
  void ExpectBadChain(const char* what) {
    auto chain = queue_.Pop(memory_);
    EXPECT_FALSE(chain.ok()) << what;
  }

  GuestMemory memory_;
  FakeDriver driver_;
  SplitQueue queue_;
};

TEST_F(SplitQueueTest, EmptyQueuePopsNothing) {
  auto chain = queue_.Pop(memory_);
  ASSERT_TRUE(chain.ok());
  EXPECT_FALSE(chain->has_value());
}

TEST_F(SplitQueueTest, PopsChainsInOrderAndReturnsThem) {
  uint16_t a = driver_.AddChain({{0x10000, 100}, {0x11000, 200, true}});
  uint16_t b = driver_.AddChain({{0x12000, 4}});
  auto first = queue_.Pop(memory_);
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->head, a);
  ASSERT_EQ((*first)->buffers.size(), 2u);
  EXPECT_EQ((*first)->buffers[0].addr, GuestAddress(0x10000));
  EXPECT_EQ((*first)->buffers[0].len, 100u);
  EXPECT_FALSE((*first)->buffers[0].device_writable);
  EXPECT_TRUE((*first)->buffers[1].device_writable);
  auto second = queue_.Pop(memory_);
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->head, b);
  ASSERT_TRUE(queue_.AddUsed(memory_, b, 0).ok());
  ASSERT_TRUE(queue_.AddUsed(memory_, a, 200).ok());
  EXPECT_EQ(driver_.UsedIdx(), 2);
  EXPECT_EQ(driver_.UsedElem(0).id, b);
  EXPECT_EQ(driver_.UsedElem(1).id, a);
  EXPECT_EQ(driver_.UsedElem(1).len, 200u);
}

TEST_F(SplitQueueTest, RingIndicesWrapAround) {
  for (int i = 0; i < 3 * kSize; ++i) {
    uint16_t head = driver_.AddChain({{0x10000, 8}});
    auto chain = queue_.Pop(memory_);
    ASSERT_TRUE(chain.ok() && chain->has_value());
    EXPECT_EQ((*chain)->head, head);
    ASSERT_TRUE(queue_.AddUsed(memory_, head, 0).ok());
  }
  EXPECT_EQ(driver_.UsedIdx(), 3 * kSize);
}

TEST_F(SplitQueueTest, BufferOutsideRamIsRefusedAndReturned) {
  uint16_t head = driver_.AddChain({{0xfffff000, 8}});
  ExpectBadChain("outside RAM");
  EXPECT_EQ(driver_.UsedIdx(), 1);  // Returned with length 0.
  EXPECT_EQ(driver_.UsedElem(0).id, head);
  EXPECT_EQ(driver_.UsedElem(0).len, 0u);
  driver_.AddChain({{(1 << 20) - 4, 8}});  // Runs past the end of RAM.
  ExpectBadChain("past the end");
  driver_.AddChain({{0x10000, 0xffffffff}});  // Huge length.
  ExpectBadChain("huge");
  // The queue still works afterwards.
  driver_.AddChain({{0x10000, 8}});
  auto chain = queue_.Pop(memory_);
  EXPECT_TRUE(chain.ok() && chain->has_value());
}

TEST_F(SplitQueueTest, DescriptorLoopIsDetected) {
  driver_.WriteDesc(0, {0x10000, 8, kDescFlagNext, 1});
  driver_.WriteDesc(1, {0x10000, 8, kDescFlagNext, 0});
  driver_.Publish(0);
  ExpectBadChain("loop");
  driver_.WriteDesc(2, {0x10000, 8, kDescFlagNext, 2});  // Self loop.
  driver_.Publish(2);
  ExpectBadChain("self loop");
}

TEST_F(SplitQueueTest, BadIndicesAndFlagsAreRefused) {
  driver_.WriteDesc(0, {0x10000, 8, kDescFlagNext, 200});  // next out of range.
  driver_.Publish(0);
  ExpectBadChain("next out of range");
  driver_.Publish(kSize + 3);  // Head out of range: cannot be returned.
  ExpectBadChain("head out of range");
  driver_.WriteDesc(1, {0x10000, 16, kDescFlagIndirect, 0});
  driver_.Publish(1);
  ExpectBadChain("indirect");
  driver_.WriteDesc(2, {0x10000, 8, kDescFlagWrite | kDescFlagNext, 3});
  driver_.WriteDesc(3, {0x11000, 8, 0, 0});
  driver_.Publish(2);
  ExpectBadChain("readable after writable");
}

TEST_F(SplitQueueTest, AvailIndexRunningAheadIsContained) {
  driver_.SetAvailIdx(1000);
  ExpectBadChain("index ran ahead");
  auto chain = queue_.Pop(memory_);  // Resynchronised: nothing pending.
  ASSERT_TRUE(chain.ok());
  EXPECT_FALSE(chain->has_value());
}

TEST_F(SplitQueueTest, SetReadyChecksSizeAlignmentAndBounds) {
  SplitQueue q(16);
  FakeDriver bad_size(memory_, 12, 0x1000, 0x2000, 0x3000);
  EXPECT_FALSE(bad_size.Configure(q).ok());
  FakeDriver too_big(memory_, 32, 0x1000, 0x2000, 0x3000);
  EXPECT_FALSE(too_big.Configure(q).ok());
  FakeDriver misaligned(memory_, 8, 0x1008, 0x2000, 0x3000);
  EXPECT_FALSE(misaligned.Configure(q).ok());
  FakeDriver outside(memory_, 8, 0x1000, 0x2000, (1 << 20) - 16);
  EXPECT_FALSE(outside.Configure(q).ok());
  EXPECT_FALSE(q.ready());
  EXPECT_FALSE(q.AddUsed(memory_, 0, 0).ok());
}

TEST_F(SplitQueueTest, InterruptSuppressionFollowsTheDriverFlag) {
  EXPECT_TRUE(queue_.NeedsInterrupt(memory_));
  driver_.SetAvailFlags(kAvailFlagNoInterrupt);
  EXPECT_FALSE(queue_.NeedsInterrupt(memory_));
}

TEST_F(SplitQueueTest, ResetForgetsEverything) {
  driver_.AddChain({{0x10000, 8}});
  queue_.Reset();
  EXPECT_FALSE(queue_.ready());
  EXPECT_EQ(queue_.size(), 16);
  auto chain = queue_.Pop(memory_);
  ASSERT_TRUE(chain.ok());
  EXPECT_FALSE(chain->has_value());
}

}  // namespace
}  // namespace blimp::device::virtio

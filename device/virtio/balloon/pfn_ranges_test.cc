#include "device/virtio/balloon/pfn_ranges.h"

#include "gtest/gtest.h"

namespace blimp::device::virtio::balloon {
namespace {

using memory::GuestAddress;
using memory::GuestMemory;

TEST(PfnRangesTest, SortsDeduplicatesAndCoalesces) {
  auto memory = *GuestMemory::CreateRam(1 << 20);  // PFNs 0..255.
  PfnRanges r = CompactPfns({7, 3, 4, 5, 5, 9, 10, 3}, memory);
  ASSERT_EQ(r.ranges.size(), 3u);
  EXPECT_EQ(r.ranges[0].start, GuestAddress(3 << 12));
  EXPECT_EQ(r.ranges[0].bytes, 3u << 12);  // 3, 4, 5
  EXPECT_EQ(r.ranges[1].start, GuestAddress(7 << 12));
  EXPECT_EQ(r.ranges[1].bytes, 1u << 12);
  EXPECT_EQ(r.ranges[2].start, GuestAddress(9 << 12));
  EXPECT_EQ(r.ranges[2].bytes, 2u << 12);
  EXPECT_EQ(r.duplicates, 2u);
  EXPECT_EQ(r.invalid, 0u);
}

TEST(PfnRangesTest, DropsPfnsOutsideRam) {
  auto memory = *GuestMemory::CreateRam(1 << 20);
  PfnRanges r = CompactPfns({255, 256, 0xffffffff, 1000}, memory);
  ASSERT_EQ(r.ranges.size(), 1u);
  EXPECT_EQ(r.ranges[0].start, GuestAddress(255 << 12));
  EXPECT_EQ(r.invalid, 3u);
}

TEST(PfnRangesTest, RunsNeverCrossRegions) {
  // Two regions that touch: [0, 8 KiB) and [8 KiB, 16 KiB).
  auto memory = *GuestMemory::Create({{GuestAddress(0), 0x2000}, {GuestAddress(0x2000), 0x2000}});
  PfnRanges r = CompactPfns({0, 1, 2, 3}, memory);
  ASSERT_EQ(r.ranges.size(), 2u);
  EXPECT_EQ(r.ranges[0].bytes, 0x2000u);
  EXPECT_EQ(r.ranges[1].start, GuestAddress(0x2000));
  for (const PageRange& range : r.ranges) {
    EXPECT_TRUE(memory.Contains(range.start, range.bytes));
  }
}

TEST(PfnRangesTest, EmptyInput) {
  auto memory = *GuestMemory::CreateRam(1 << 20);
  EXPECT_TRUE(CompactPfns({}, memory).ranges.empty());
}

}  // namespace
}  // namespace blimp::device::virtio::balloon

#include "arch/x86_64/e820.h"

#include "arch/x86_64/layout.h"
#include "gtest/gtest.h"

namespace blimp::arch::x86_64 {
namespace {

void ExpectEntry(const E820Entry& e, uint64_t addr, uint64_t size, uint32_t type) {
  E820Entry copy = e;  // Packed: copy out before comparing.
  uint64_t a = copy.addr, s = copy.size;
  uint32_t t = copy.type;
  EXPECT_EQ(a, addr);
  EXPECT_EQ(s, size);
  EXPECT_EQ(t, type);
}

TEST(E820Test, SixtyFourMiB) {
  auto mem = memory::GuestMemory::CreateRam(64 * kMiB);
  ASSERT_TRUE(mem.ok());
  auto map = BuildE820Map(*mem);
  ASSERT_TRUE(map.ok()) << map.status();
  ASSERT_EQ(map->size(), 3u);
  ExpectEntry((*map)[0], 0, 0x9fc00, kE820Ram);
  ExpectEntry((*map)[1], 0x9fc00, 0x100000 - 0x9fc00, kE820Reserved);
  ExpectEntry((*map)[2], 0x100000, 63 * kMiB, kE820Ram);
  EXPECT_EQ(LowRamEnd(*mem), 64 * kMiB);
}

TEST(E820Test, FiveTwelveMiB) {
  auto mem = memory::GuestMemory::CreateRam(512 * kMiB);
  ASSERT_TRUE(mem.ok());
  auto map = BuildE820Map(*mem);
  ASSERT_TRUE(map.ok());
  ASSERT_EQ(map->size(), 3u);
  ExpectEntry((*map)[2], 0x100000, 511 * kMiB, kE820Ram);
}

TEST(E820Test, AboveFourGiB) {
  auto mem = memory::GuestMemory::CreateRam(5 * kGiB);
  ASSERT_TRUE(mem.ok()) << mem.status();
  auto map = BuildE820Map(*mem);
  ASSERT_TRUE(map.ok());
  ASSERT_EQ(map->size(), 4u);
  ExpectEntry((*map)[2], 0x100000, 3 * kGiB - kMiB, kE820Ram);
  ExpectEntry((*map)[3], 4 * kGiB, 2 * kGiB, kE820Ram);
  EXPECT_EQ(LowRamEnd(*mem), 3 * kGiB);
}

TEST(E820Test, RejectsTooLittleRamOrNoRamAtZero) {
  auto small = memory::GuestMemory::CreateRam(kMiB);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(BuildE820Map(*small).status().code(), absl::StatusCode::kInvalidArgument);
  auto high = memory::GuestMemory::Create({{memory::GuestAddress(4 * kGiB), 16 * kMiB}});
  ASSERT_TRUE(high.ok());
  EXPECT_EQ(BuildE820Map(*high).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace blimp::arch::x86_64

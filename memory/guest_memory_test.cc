#include "memory/guest_memory.h"

#include <cstring>

#include "gtest/gtest.h"

namespace blimp::memory {
namespace {

TEST(GuestMemoryTest, SmallRamIsOneRegionFromZero) {
  auto mem = GuestMemory::CreateRam(64 * kMiB);
  ASSERT_TRUE(mem.ok()) << mem.status();
  ASSERT_EQ(mem->regions().size(), 1u);
  EXPECT_EQ(mem->regions()[0].start, GuestAddress(0));
  EXPECT_EQ(mem->total_size(), 64 * kMiB);
}

TEST(GuestMemoryTest, RamAboveThreeGiBGoesAfterTheHole) {
  auto mem = GuestMemory::CreateRam(4ull << 30);
  ASSERT_TRUE(mem.ok()) << mem.status();
  ASSERT_EQ(mem->regions().size(), 2u);
  EXPECT_EQ(mem->regions()[0].size, kMmioHoleStart);
  EXPECT_EQ(mem->regions()[1].start, GuestAddress(kMmioHoleEnd));
  EXPECT_EQ(mem->regions()[1].size, 1ull << 30);
  EXPECT_FALSE(mem->Contains(GuestAddress(kMmioHoleStart), 1));
  EXPECT_TRUE(mem->Contains(GuestAddress(kMmioHoleEnd), 1));
}

TEST(GuestMemoryTest, RejectsBadSizesAndLayouts) {
  EXPECT_FALSE(GuestMemory::CreateRam(0).ok());
  EXPECT_FALSE(GuestMemory::CreateRam(4097).ok());
  EXPECT_FALSE(GuestMemory::Create({}).ok());
  EXPECT_FALSE(GuestMemory::Create({{GuestAddress(0x1000), 0x2000},
                                    {GuestAddress(0x2000), 0x1000}})
                   .ok());  // Overlap.
  EXPECT_FALSE(GuestMemory::Create({{GuestAddress(0x10), 0x1000}}).ok());
  EXPECT_FALSE(GuestMemory::Create({{GuestAddress(~0ull & ~0xfffull), 0x2000}}).ok());
}

TEST(GuestMemoryTest, ReadWriteRoundTrip) {
  auto mem = GuestMemory::CreateRam(1 * kMiB);
  ASSERT_TRUE(mem.ok());
  ASSERT_TRUE(mem->WriteObj<uint64_t>(GuestAddress(0x1000), 0x1122334455667788).ok());
  EXPECT_EQ(*mem->ReadObj<uint64_t>(GuestAddress(0x1000)), 0x1122334455667788u);
  const char text[] = "blimp";
  ASSERT_TRUE(mem->Write(GuestAddress(kMiB - sizeof(text)), text, sizeof(text)).ok());
  char back[sizeof(text)];
  ASSERT_TRUE(mem->Read(GuestAddress(kMiB - sizeof(text)), back, sizeof(back)).ok());
  EXPECT_STREQ(back, "blimp");
}

TEST(GuestMemoryTest, AccessesOutsideRamFailWithoutTouchingAnything) {
  auto mem = GuestMemory::Create({{GuestAddress(0), 0x2000}, {GuestAddress(0x4000), 0x1000}});
  ASSERT_TRUE(mem.ok());
  uint64_t value = 0;
  // Past the end, spanning a gap, spanning two regions, and overflow.
  EXPECT_EQ(mem->Read(GuestAddress(0x2000), &value, 8).code(), absl::StatusCode::kOutOfRange);
  EXPECT_FALSE(mem->Read(GuestAddress(0x1ffc), &value, 8).ok());
  EXPECT_FALSE(mem->Read(GuestAddress(0x3ffc), &value, 8).ok());
  EXPECT_FALSE(mem->HostAddress(GuestAddress(0x4000), ~0ull).ok());
  EXPECT_FALSE(mem->HostAddress(GuestAddress(~0ull), 2).ok());
  EXPECT_FALSE(mem->WriteObj<uint64_t>(GuestAddress(0x4ffc), 1).ok());
  EXPECT_TRUE(mem->HostAddress(GuestAddress(0x4ff8), 8).ok());
}

TEST(GuestMemoryTest, HostAddressIsInsideTheMapping) {
  auto mem = GuestMemory::Create({{GuestAddress(0x10000), 0x3000}});
  ASSERT_TRUE(mem.ok());
  auto host = mem->HostAddress(GuestAddress(0x11000), 0x1000);
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(*host, mem->regions()[0].mapping.data() + 0x1000);
}

TEST(GuestMemoryTest, DiscardZeroesPages) {
  auto mem = GuestMemory::CreateRam(1 * kMiB);
  ASSERT_TRUE(mem.ok());
  ASSERT_TRUE(mem->WriteObj<uint32_t>(GuestAddress(0x3000), 0xdeadbeef).ok());
  ASSERT_TRUE(mem->WriteObj<uint32_t>(GuestAddress(0x4000), 0xcafef00d).ok());
  ASSERT_TRUE(mem->Discard(GuestAddress(0x3000), 0x1000).ok());
  EXPECT_EQ(*mem->ReadObj<uint32_t>(GuestAddress(0x3000)), 0u);
  EXPECT_EQ(*mem->ReadObj<uint32_t>(GuestAddress(0x4000)), 0xcafef00du);
  EXPECT_FALSE(mem->Discard(GuestAddress(0x3001), 0x1000).ok());
  EXPECT_FALSE(mem->Discard(GuestAddress(kMiB), 0x1000).ok());
}

}  // namespace
}  // namespace blimp::memory

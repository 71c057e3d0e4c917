#include "arch/x86_64/boot_data.h"

#include "arch/x86_64/layout.h"
#include "arch/x86_64/testing/test_files.h"
#include "gtest/gtest.h"

namespace blimp::arch::x86_64 {
namespace {

using memory::GuestAddress;

TEST(PlaceInitrdTest, HighestPageBelowLowRamEnd) {
  auto mem = memory::GuestMemory::CreateRam(64 * kMiB);
  ASSERT_TRUE(mem.ok());
  auto addr = PlaceInitrd(*mem, 0x1800, 16 * kMiB, 0x7fffffff);
  ASSERT_TRUE(addr.ok());
  EXPECT_EQ(*addr, 64 * kMiB - 0x2000);
}

TEST(PlaceInitrdTest, RespectsInitrdAddrMax) {
  auto mem = memory::GuestMemory::CreateRam(512 * kMiB);
  ASSERT_TRUE(mem.ok());
  auto addr = PlaceInitrd(*mem, 0x10000, 16 * kMiB, 0x0fffffff);
  ASSERT_TRUE(addr.ok());
  EXPECT_EQ(*addr, 0x10000000u - 0x10000);
}

TEST(PlaceInitrdTest, StaysBelowMmioHoleWithHighRam) {
  auto mem = memory::GuestMemory::CreateRam(5 * kGiB);
  ASSERT_TRUE(mem.ok());
  auto addr = PlaceInitrd(*mem, kMiB, 16 * kMiB, 0xffffffff);
  ASSERT_TRUE(addr.ok());
  EXPECT_EQ(*addr, 3 * kGiB - kMiB);
}

TEST(PlaceInitrdTest, ErrorWhenOverlappingKernel) {
  auto mem = memory::GuestMemory::CreateRam(32 * kMiB);
  ASSERT_TRUE(mem.ok());
  auto addr = PlaceInitrd(*mem, 8 * kMiB, 30 * kMiB, 0x7fffffff);
  EXPECT_EQ(addr.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(PlaceInitrd(*mem, 8 * kMiB, 24 * kMiB, 0x7fffffff).ok());
}

TEST(LoadInitrdTest, LoadsFileContents) {
  auto mem = memory::GuestMemory::CreateRam(64 * kMiB);
  ASSERT_TRUE(mem.ok());
  std::vector<uint8_t> bytes(5000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7);
  std::string path = WriteTestFile("initrd.img", bytes);
  auto initrd = LoadInitrd(*mem, path, 16 * kMiB, 0x7fffffff);
  ASSERT_TRUE(initrd.ok()) << initrd.status();
  EXPECT_EQ(initrd->size, 5000u);
  EXPECT_EQ(initrd->addr % memory::kPageSize, 0u);
  std::vector<uint8_t> back(5000);
  ASSERT_TRUE(mem->Read(GuestAddress(initrd->addr), back.data(), back.size()).ok());
  EXPECT_EQ(back, bytes);
}

TEST(LoadInitrdTest, Errors) {
  auto mem = memory::GuestMemory::CreateRam(64 * kMiB);
  ASSERT_TRUE(mem.ok());
  auto missing = LoadInitrd(*mem, "/nonexistent/initrd", 16 * kMiB, 0x7fffffff);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("/nonexistent/initrd"), std::string::npos);
  std::string empty = WriteTestFile("empty.img", {});
  auto e = LoadInitrd(*mem, empty, 16 * kMiB, 0x7fffffff);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(e.status().message().find("empty"), std::string::npos);
}

TEST(CmdlineTest, WritesWithNul) {
  auto mem = memory::GuestMemory::CreateRam(4 * kMiB);
  ASSERT_TRUE(mem.ok());
  ASSERT_TRUE(WriteCmdline(*mem, "console=ttyS0 quiet", 2047).ok());
  char buf[21];
  ASSERT_TRUE(mem->Read(GuestAddress(kCmdlineAddr), buf, sizeof(buf) - 1).ok());
  EXPECT_STREQ(buf, "console=ttyS0 quiet");
}

TEST(CmdlineTest, LengthLimits) {
  auto mem = memory::GuestMemory::CreateRam(4 * kMiB);
  ASSERT_TRUE(mem.ok());
  EXPECT_TRUE(WriteCmdline(*mem, std::string(255, 'a'), 255).ok());
  auto status = WriteCmdline(*mem, std::string(256, 'a'), 255);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("256"), std::string::npos);
  // Our reserved area caps a kernel that claims more.
  EXPECT_FALSE(WriteCmdline(*mem, std::string(kCmdlineMaxSize, 'a'), 0xffffffff).ok());
  EXPECT_FALSE(WriteCmdline(*mem, std::string("a\0b", 3), 255).ok());
}

}  // namespace
}  // namespace blimp::arch::x86_64

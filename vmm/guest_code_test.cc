#include "vmm/guest_code.h"

#include "gtest/gtest.h"

namespace blimp::vmm {
namespace {

using memory::GuestAddress;

constexpr uint64_t kPresentWritable = 0x3;
constexpr uint64_t kHuge = 0x80;

class GuestCodeTest : public ::testing::Test {
 protected:
  // PML4 at 0x1000 -> PDPT at 0x2000 -> PD at 0x3000 -> PT at 0x4000.
  void SetUp() override {
    Put(0x1000, 0x2000 | kPresentWritable);
    Put(0x2000, 0x3000 | kPresentWritable);            // 0..1 GiB via the PD.
    Put(0x2008, 0x40000000 | kPresentWritable | kHuge);  // 1 GiB page -> 1 GiB.
    Put(0x3000, 0x4000 | kPresentWritable);            // 0..2 MiB via the PT.
    Put(0x3008, 0x600000 | kPresentWritable | kHuge);  // 2..4 MiB -> 6 MiB.
    Put(0x4000 + 5 * 8, 0x9000 | kPresentWritable);    // 0x5000 -> 0x9000.
    sregs_.cr0 = 1ull << 31 | 1;
    sregs_.cr3 = 0x1000;
    sregs_.efer = 1 << 10 | 1 << 8;
  }
  void Put(uint64_t addr, uint64_t value) {
    ASSERT_TRUE(memory_.WriteObj(GuestAddress(addr), value).ok());
  }

  memory::GuestMemory memory_ = *memory::GuestMemory::CreateRam(16 << 20);
  kvm_sregs sregs_{};
};

TEST_F(GuestCodeTest, WalksFourLevelsAndLargePages) {
  EXPECT_EQ(*TranslateGuestVirtual(memory_, sregs_, 0x5123), 0x9123u);
  EXPECT_EQ(*TranslateGuestVirtual(memory_, sregs_, 0x200000 + 0x42), 0x600042u);
  EXPECT_EQ(*TranslateGuestVirtual(memory_, sregs_, 0x40000000 + 0x777), 0x40000777u);
  EXPECT_EQ(TranslateGuestVirtual(memory_, sregs_, 0x6000).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(GuestCodeTest, PagingOffIsPhysical) {
  kvm_sregs real{};
  EXPECT_EQ(*TranslateGuestVirtual(memory_, real, 0x1234), 0x1234u);
}

TEST_F(GuestCodeTest, PageTablesOutsideRamAreAnErrorNotACrash) {
  Put(0x1000, 0xfff000000000 | kPresentWritable);
  EXPECT_FALSE(TranslateGuestVirtual(memory_, sregs_, 0x5000).ok());
}

TEST_F(GuestCodeTest, ReadsCodeBytes) {
  const uint8_t code[] = {0xf0, 0x48, 0x0f, 0xc7, 0x0e};
  ASSERT_TRUE(memory_.Write(GuestAddress(0x9010), code, sizeof(code)).ok());
  auto bytes = ReadGuestCode(memory_, sregs_, 0x5010, 5);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, std::vector<uint8_t>(code, code + 5));
  EXPECT_EQ(GuessMnemonic(*bytes), "lock cmpxchg16b");
}

TEST(GuessMnemonicTest, KnownFailures) {
  EXPECT_EQ(GuessMnemonic({0xcc}), "int3");
  EXPECT_EQ(GuessMnemonic({0x0f, 0xae, 0x2f}), "xrstor");  // xrstor [rdi]
  EXPECT_EQ(GuessMnemonic({0x48, 0x0f, 0xae, 0x27}), "xsave");
  EXPECT_EQ(GuessMnemonic({0x0f, 0x01, 0xd1}), "xsetbv");
  EXPECT_EQ(GuessMnemonic({0x0f, 0xae, 0xe8}), "unknown");  // lfence, not xrstor.
  EXPECT_EQ(GuessMnemonic({0x90}), "unknown");
  EXPECT_EQ(GuessMnemonic({}), "unknown");
}

}  // namespace
}  // namespace blimp::vmm

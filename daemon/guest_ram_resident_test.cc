// ResidentInRanges over smaps text: only the guest RAM mappings count (not
// the VMM's heap), hugetlb pages too, a merged mapping in proportion; and a
// real process's touched mapping.
#include "daemon/guest_ram_resident.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "gtest/gtest.h"

namespace blimp::daemon {
namespace {

constexpr char kSmaps[] =
    "55d0a000-55d0b000 r-xp 00000000 08:01 123 /usr/bin/blimp-vmm\n"
    "Size:                  4 kB\n"
    "Rss:                   4 kB\n"
    "Private_Hugetlb:        0 kB\n"
    "7f0000000000-7f0004000000 rw-p 00000000 00:00 0 \n"
    "Size:              65536 kB\n"
    "Rss:               30000 kB\n"
    "Private_Hugetlb:        0 kB\n"
    "7f1000000000-7f1000200000 rw-p 00000000 00:00 0 \n"
    "Size:               2048 kB\n"
    "Rss:                   0 kB\n"
    "Private_Hugetlb:     2048 kB\n"
    "VmFlags: rd wr mr mw me ac ht\n"
    "7f2000000000-7f2000400000 rw-p 00000000 00:00 0 [heap]\n"
    "Size:               4096 kB\n"
    "Rss:                4000 kB\n";

TEST(GuestRamResidentTest, CountsOnlyTheGuestRamRanges) {
  EXPECT_EQ(ResidentInRanges(kSmaps, {{0x7f0000000000, 64 << 20}}), uint64_t{30000} * 1024);
  EXPECT_EQ(ResidentInRanges(kSmaps, {{0x7f0000000000, 64 << 20}, {0x7f1000000000, 2 << 20}}),
            uint64_t{30000 + 2048} * 1024);
  EXPECT_EQ(ResidentInRanges(kSmaps, {}), 0u);
  EXPECT_EQ(ResidentInRanges(kSmaps, {{0x1000, 4096}}), 0u);
}

TEST(GuestRamResidentTest, AMappingPartlyInsideCountsInProportion) {
  // Half of the 64 MiB mapping is guest RAM (merged with a neighbour).
  EXPECT_EQ(ResidentInRanges(kSmaps, {{0x7f0002000000, 32 << 20}}), uint64_t{15000} * 1024);
}

TEST(GuestRamResidentTest, ARealMappingGrowsWithItsTouchedPages) {
  const size_t size = 16 << 20;
  void* map = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(map, MAP_FAILED);
  const HostRanges ranges = {{reinterpret_cast<uintptr_t>(map), size}};
  auto before = GuestRamResidentBytes(::getpid(), ranges);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_LT(*before, uint64_t{1} << 20);
  std::memset(map, 1, 8 << 20);
  auto after = GuestRamResidentBytes(::getpid(), ranges);
  ASSERT_TRUE(after.ok());
  EXPECT_GE(*after, uint64_t{8} << 20);
  EXPECT_LE(*after, uint64_t{10} << 20);  // THP may round up a little.
  ::munmap(map, size);
}

}  // namespace
}  // namespace blimp::daemon

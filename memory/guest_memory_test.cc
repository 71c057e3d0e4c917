#include "memory/guest_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace blimp::memory {
namespace {

// What /proc/self/smaps says about the mapping that holds `addr`.
struct Smaps {
  bool found = false;
  uint64_t rss_kib = 0;
  uint64_t anon_huge_kib = 0;
  bool advised = false;  // VmFlags has "hg" (MADV_HUGEPAGE).
};

Smaps SmapsOf(const void* addr) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(addr);
  std::ifstream in("/proc/self/smaps");
  Smaps out;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    unsigned long lo, hi;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      if (out.found) break;  // Past our mapping's block.
      inside = lo <= a && a < hi;
      out.found = inside;
      continue;
    }
    if (!inside) continue;
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    if (key == "Rss:") fields >> out.rss_kib;
    if (key == "AnonHugePages:") fields >> out.anon_huge_kib;
    if (key == "VmFlags:") {
      for (std::string flag; fields >> flag;) out.advised |= flag == "hg";
    }
  }
  return out;
}

std::string ThpMode() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t open = all.find('['), close = all.find(']');
  return open == std::string::npos ? "" : all.substr(open + 1, close - open - 1);
}

constexpr RamOptions kThp{.transparent_huge_pages = true};

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25  // Linux 6.1: khugepaged's collapse, synchronously.
#endif

// Touches the first 2 MiB of `data`, discards one 4 KiB page of it and asks
// for khugepaged's collapse of the range (what khugepaged would do later).
// Returns madvise's errno (0 on success).
int DiscardOnePageThenCollapse(const GuestMemory& mem) {
  for (uint64_t off = 0; off < kHugePageSize; off += kPageSize) {
    (void)mem.WriteObj<uint8_t>(GuestAddress(off), 1);
  }
  (void)mem.Discard(GuestAddress(0x5000), kPageSize);
  return ::madvise(mem.regions()[0].mapping.data(), kHugePageSize, MADV_COLLAPSE) == 0 ? 0
                                                                                       : errno;
}

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

TEST(GuestMemoryTest, PlainRamIsNotHugePageAdvised) {
  auto mem = GuestMemory::CreateRam(8 * kMiB);
  ASSERT_TRUE(mem.ok());
  EXPECT_FALSE(mem->regions()[0].huge_pages);
  Smaps smaps = SmapsOf(mem->regions()[0].mapping.data());
  ASSERT_TRUE(smaps.found);
  EXPECT_FALSE(smaps.advised);
}

TEST(GuestMemoryTest, HugePageRamIsAlignedAndAdvised) {
  if (ThpMode().empty()) GTEST_SKIP() << "host kernel without transparent huge pages";
  // Odd sizes too: the tail past the last 2 MiB boundary is plain 4 KiB pages.
  auto mem = GuestMemory::Create({{GuestAddress(0), 6 * kMiB + kPageSize},
                                  {GuestAddress(4ull << 30), 2 * kMiB}},
                                 kThp);
  ASSERT_TRUE(mem.ok()) << mem.status();
  for (const GuestRegion& region : mem->regions()) {
    EXPECT_TRUE(region.huge_pages);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(region.mapping.data()) % kHugePageSize, 0u);
    Smaps smaps = SmapsOf(region.mapping.data());
    ASSERT_TRUE(smaps.found);
    EXPECT_TRUE(smaps.advised);
  }
  // The last byte of each is still usable (the mapping is not short).
  EXPECT_TRUE(mem->WriteObj<uint8_t>(GuestAddress(6 * kMiB + kPageSize - 1), 1).ok());
}

TEST(GuestMemoryTest, DiscardsOnHugePagesZeroExactlyTheirRange) {
  const std::string mode = ThpMode();
  if (mode.empty() || mode == "never") GTEST_SKIP() << "host THP mode: '" << mode << "'";
  auto mem = GuestMemory::CreateRam(4 * kMiB, kThp);
  ASSERT_TRUE(mem.ok());
  uint8_t* host = mem->regions()[0].mapping.data();
  for (uint64_t off = 0; off < 4 * kMiB; off += kPageSize) {
    ASSERT_TRUE(mem->WriteObj<uint32_t>(GuestAddress(off), 0x5a000000u | (off >> 12)).ok());
  }
  Smaps touched = SmapsOf(host);
  EXPECT_EQ(touched.anon_huge_kib, 4096u) << "RAM is not on huge pages";
  EXPECT_EQ(touched.rss_kib, 4096u);

  // A balloon-sized (4 KiB) discard splits the first huge page: that page
  // reads zero, its neighbours keep their data, RSS drops by 4 KiB.
  ASSERT_TRUE(mem->Discard(GuestAddress(0x3000), kPageSize).ok());
  EXPECT_EQ(*mem->ReadObj<uint32_t>(GuestAddress(0x3000)), 0u);
  EXPECT_EQ(*mem->ReadObj<uint32_t>(GuestAddress(0x2000)), 0x5a000002u);
  EXPECT_EQ(*mem->ReadObj<uint32_t>(GuestAddress(0x4000)), 0x5a000004u);
  // (The read of 0x3000 above mapped the shared zero page, not new memory.)
  Smaps split = SmapsOf(host);
  EXPECT_EQ(split.anon_huge_kib, 2048u);
  EXPECT_EQ(split.rss_kib, 4096u - 4u);

  // A report-sized (2 MiB, aligned) discard drops the second one whole.
  ASSERT_TRUE(mem->Discard(GuestAddress(2 * kMiB), 2 * kMiB).ok());
  for (uint64_t off = 2 * kMiB; off < 4 * kMiB; off += kPageSize) {
    ASSERT_EQ(*mem->ReadObj<uint32_t>(GuestAddress(off)), 0u) << off;
  }
  EXPECT_EQ(*mem->ReadObj<uint32_t>(GuestAddress(2 * kMiB - kPageSize)), 0x5a0001ffu);
  Smaps dropped = SmapsOf(host);
  EXPECT_EQ(dropped.anon_huge_kib, 0u);
}

TEST(GuestMemoryTest, KhugepagedCannotRefillHolesInHugePageRam) {
  const std::string mode = ThpMode();
  if (mode.empty() || mode == "never") GTEST_SKIP() << "host THP mode: '" << mode << "'";
  // Unguarded, the collapse fills the hole: the discarded page is back in RSS.
  // (What this test relies on; kernels before 6.1 have no MADV_COLLAPSE.)
  {
    auto plain = GuestMemory::CreateRam(2 * kMiB);
    ASSERT_TRUE(plain.ok());
    ASSERT_TRUE(plain->regions()[0].mapping.AdviseHugePages().ok());
    int err = DiscardOnePageThenCollapse(*plain);
    if (err == EINVAL) GTEST_SKIP() << "no MADV_COLLAPSE";
    ASSERT_EQ(err, 0);
    EXPECT_EQ(SmapsOf(plain->regions()[0].mapping.data()).rss_kib, 2048u);
  }
  auto mem = GuestMemory::CreateRam(2 * kMiB, kThp);
  ASSERT_TRUE(mem.ok());
  ASSERT_TRUE(mem->holes_guarded());
  EXPECT_NE(DiscardOnePageThenCollapse(*mem), 0);
  EXPECT_EQ(SmapsOf(mem->regions()[0].mapping.data()).rss_kib, 2048u - 4u);
  EXPECT_EQ(*mem->ReadObj<uint8_t>(GuestAddress(0x5000)), 0u);
  EXPECT_EQ(*mem->ReadObj<uint8_t>(GuestAddress(0x6000)), 1u);
}

// A memory file (memfd here): RAM reads its pages, writes stay private, and
// a discard gives zeroes, never the file's page again.
TEST(GuestMemoryTest, RamFromAMemoryFileIsPrivateAndDiscardsToZero) {
  const uint64_t size = 1 * kMiB;
  int fd = ::memfd_create("ram", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::string pattern(size, '\0');
  for (size_t i = 0; i < size; i += kPageSize) pattern[i] = static_cast<char>(1 + i / kPageSize);
  ASSERT_EQ(::pwrite(fd, pattern.data(), size, 0), static_cast<ssize_t>(size));
  auto mem = GuestMemory::Create({{GuestAddress(0), size / 2}, {GuestAddress(kMiB), size / 2}},
                                 RamOptions{.transparent_huge_pages = true, .memory_file = fd});
  ASSERT_TRUE(mem.ok()) << mem.status();
  EXPECT_TRUE(mem->regions()[0].file_backed);
  EXPECT_FALSE(mem->regions()[0].huge_pages);
  // Each region at its offset in the file.
  EXPECT_EQ(*mem->ReadObj<uint8_t>(GuestAddress(0x1000)), 2u);
  EXPECT_EQ(*mem->ReadObj<uint8_t>(GuestAddress(kMiB)), 1u + (size / 2) / kPageSize);
  ASSERT_TRUE(mem->WriteObj(GuestAddress(0x2000), uint8_t{0xee}).ok());
  char in_file = 0;
  ASSERT_EQ(::pread(fd, &in_file, 1, 0x2000), 1);
  EXPECT_EQ(in_file, 3) << "the file never changes";
  ASSERT_TRUE(mem->Discard(GuestAddress(0x1000), 2 * kPageSize).ok());
  EXPECT_EQ(*mem->ReadObj<uint8_t>(GuestAddress(0x1000)), 0u);
  EXPECT_EQ(*mem->ReadObj<uint8_t>(GuestAddress(0x2000)), 0u);
  EXPECT_EQ(*mem->ReadObj<uint8_t>(GuestAddress(0x3000)), 4u) << "only the range is dropped";
  EXPECT_FALSE(mem->Discard(GuestAddress(0x7f000), 2 * kPageSize).ok()) << "crosses a region";

  // A file of the wrong size is refused before anything is mapped.
  ASSERT_EQ(::ftruncate(fd, size - kPageSize), 0);
  auto short_file = GuestMemory::CreateRam(size, RamOptions{.memory_file = fd});
  EXPECT_FALSE(short_file.ok());
  ::close(fd);
}

}  // namespace
}  // namespace blimp::memory

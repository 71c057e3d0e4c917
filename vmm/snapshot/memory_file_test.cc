#include "vmm/snapshot/memory_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "gtest/gtest.h"

namespace blimp::vmm::snapshot {
namespace {

using memory::GuestAddress;
using memory::kMiB;
using memory::kPageSize;

// Only pages with data are written, at their offset; the rest are holes
// that read as zero, and the file maps back to the same RAM.
TEST(MemoryFileTest, WritesOnlyPagesWithDataAsASparseFile) {
  auto mem = memory::GuestMemory::Create({{GuestAddress(0), 4 * kMiB}, {GuestAddress(8 * kMiB), kMiB}});
  ASSERT_TRUE(mem.ok());
  ASSERT_TRUE(mem->WriteObj(GuestAddress(0x3000), uint64_t{0x1122}).ok());
  ASSERT_TRUE(mem->WriteObj(GuestAddress(0x4000 - 8), uint64_t{7}).ok());
  ASSERT_TRUE(mem->WriteObj(GuestAddress(8 * kMiB + 0x5000), uint32_t{0xabcd}).ok());
  // A page written, then discarded as the balloon would: a hole again.
  ASSERT_TRUE(mem->WriteObj(GuestAddress(0x9000), uint8_t{1}).ok());
  ASSERT_TRUE(mem->Discard(GuestAddress(0x9000), kPageSize).ok());

  char path[] = "/tmp/memory-file-test-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  auto stats = WriteMemoryFile(*mem, fd);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->file_bytes, 5 * kMiB);
  EXPECT_EQ(stats->written_bytes, 2 * kPageSize);
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 5 * kMiB);
  EXPECT_LE(static_cast<uint64_t>(st.st_blocks) * 512, 64 * 1024u) << "a sparse file";

  auto back = memory::GuestMemory::Create({{GuestAddress(0), 4 * kMiB}, {GuestAddress(8 * kMiB), kMiB}},
                                          memory::RamOptions{.memory_file = fd});
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back->ReadObj<uint64_t>(GuestAddress(0x3000)), 0x1122u);
  EXPECT_EQ(*back->ReadObj<uint64_t>(GuestAddress(0x4000 - 8)), 7u);
  EXPECT_EQ(*back->ReadObj<uint32_t>(GuestAddress(8 * kMiB + 0x5000)), 0xabcdu);
  EXPECT_EQ(*back->ReadObj<uint8_t>(GuestAddress(0x9000)), 0u);
  ::close(fd);
  ::unlink(path);
}

}  // namespace
}  // namespace blimp::vmm::snapshot

#include "base/process_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "gtest/gtest.h"

namespace blimp::base {
namespace {

TEST(ProcessMemoryTest, TouchingMemoryRaisesRss) {
  auto before = ResidentBytes(::getpid());
  ASSERT_TRUE(before.ok()) << before.status();
  constexpr size_t kSize = 64 << 20;
  void* p = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  std::memset(p, 1, kSize);
  auto after = ResidentBytes(::getpid());
  ASSERT_TRUE(after.ok());
  EXPECT_GE(*after, *before + kSize * 9 / 10);
  ::munmap(p, kSize);
}

TEST(ProcessMemoryTest, MissingProcessIsNotFound) {
  EXPECT_EQ(ResidentBytes(0x7ffffff0).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace blimp::base

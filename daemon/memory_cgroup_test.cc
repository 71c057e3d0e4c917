// MemoryCgroup: path discovery from /proc texts (v1, v2, a namespaced
// mount), and against this host's real memory cgroup: a limit holds, a
// process is attached, one that outgrows the limit is OOM-killed and counted,
// the cgroup is removed once empty.
#include "daemon/memory_cgroup.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace blimp::daemon {
namespace {

constexpr char kMountinfoV1[] =
    "24 29 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
    "30 24 0:26 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 24 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "40 24 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

TEST(MemoryCgroupDirTest, V1MemoryLine) {
  auto dir = MemoryCgroupDir("5:cpu:/\n4:memory:/process_api/abc\n0::/\n", kMountinfoV1);
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(*dir, "/sys/fs/cgroup/memory/process_api/abc");
  auto root = MemoryCgroupDir("4:memory:/\n", kMountinfoV1);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(*root, "/sys/fs/cgroup/memory");
}

TEST(MemoryCgroupDirTest, V1MountOfASubtree) {
  // A container sees its own cgroup as the mount's root.
  auto dir = MemoryCgroupDir(
      "4:memory:/docker/x/inner\n",
      "33 24 0:29 /docker/x /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(*dir, "/sys/fs/cgroup/memory/inner");
  EXPECT_FALSE(MemoryCgroupDir("4:memory:/elsewhere\n",
                               "33 24 0:29 /docker/x /sys/fs/cgroup/memory rw - cgroup cgroup "
                               "rw,memory\n")
                   .ok());
}

TEST(MemoryCgroupDirTest, NoMemoryControllerIsNotFound) {
  auto dir = MemoryCgroupDir("5:cpu:/\n",
                             "30 24 0:26 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n");
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kNotFound);
}

// The cgroup this test runs in, if the host lets it make children there.
std::string WritableOwnCgroup() {
  auto own = ProcessMemoryCgroupDir(::getpid());
  if (!own.ok()) return "";
  return ::access(own->c_str(), W_OK) == 0 ? *own : "";
}

TEST(MemoryCgroupTest, LimitAttachOomAndRemove) {
  const std::string own = WritableOwnCgroup();
  if (own.empty()) GTEST_SKIP() << "SKIPPED: no writable memory cgroup";
  const std::string parent = absl::StrCat(own, "/blimp-test-", ::getpid());
  auto cgroup = MemoryCgroup::Create(parent + "/vm");
  ASSERT_TRUE(cgroup.ok()) << cgroup.status();
  constexpr uint64_t kLimit = 32 << 20;
  ASSERT_TRUE(cgroup->SetLimit(kLimit).ok());
  EXPECT_EQ(cgroup->Limit().value_or(0), kLimit);
  ASSERT_TRUE(cgroup->SetLimit(2 * kLimit).ok());  // Raising moves memsw first.
  EXPECT_EQ(cgroup->Limit().value_or(0), 2 * kLimit);
  ASSERT_TRUE(cgroup->SetLimit(kLimit).ok());  // Lowering moves it last.
  EXPECT_EQ(cgroup->Limit().value_or(0), kLimit);
  EXPECT_EQ(cgroup->OomKills().value_or(99), 0u);

  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    char byte;
    if (::read(go[0], &byte, 1) != 1) _exit(2);
    // Twice the limit, every page written: only the OOM killer ends this.
    const size_t size = 2 * kLimit;
    char* memory = static_cast<char*>(::malloc(size));
    for (size_t i = 0; i < size; i += 4096) memory[i] = 1;
    _exit(0);
  }
  ASSERT_TRUE(cgroup->AddProcess(child).ok());
  auto pids = cgroup->Processes();
  ASSERT_TRUE(pids.ok()) << pids.status();
  EXPECT_NE(std::find(pids->begin(), pids->end(), child), pids->end());
  auto seen = ProcessMemoryCgroupDir(child);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(*seen, cgroup->dir());

  // Busy while the child is in it.
  EXPECT_FALSE(cgroup->Remove(absl::Milliseconds(50)).ok());
  ASSERT_EQ(::write(go[1], "x", 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_GE(cgroup->OomKills().value_or(0), 1u);

  auto busy = MemoryCgroup::Create(parent + "/busy");
  ASSERT_TRUE(busy.ok());
  ASSERT_TRUE(busy->AddProcess(::getpid()).ok());
  auto parent_cgroup = MemoryCgroup::Open(parent);
  ASSERT_TRUE(parent_cgroup.ok());
  // The empty one goes, the one holding this test stays.
  EXPECT_EQ(parent_cgroup->RemoveEmptyChildren(), 1);
  EXPECT_TRUE(MemoryCgroup::Open(busy->dir()).ok());
  auto own_cgroup = MemoryCgroup::Open(own);
  ASSERT_TRUE(own_cgroup.ok());
  ASSERT_TRUE(own_cgroup->AddProcess(::getpid()).ok());
  EXPECT_TRUE(busy->Remove().ok());
  struct stat st;
  EXPECT_NE(::stat(cgroup->dir().c_str(), &st), 0);
  EXPECT_TRUE(cgroup->Remove().ok());  // Gone already: fine.
  auto removed_parent = MemoryCgroup::Open(parent);
  ASSERT_TRUE(removed_parent.ok());
  EXPECT_TRUE(removed_parent->Remove().ok());
  ::close(go[0]);
  ::close(go[1]);
}

TEST(MemoryCgroupTest, OpenRefusesAPlainFolder) {
  EXPECT_EQ(MemoryCgroup::Open("/tmp").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace blimp::daemon

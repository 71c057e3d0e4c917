#include "base/pid_lock.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace blimp::base {
namespace {

// Under the test's own temporary folder, which Bazel removes.
std::string TempPath() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base != nullptr ? base : "/tmp") + "/blimp-pidlock-XXXXXX";
  return std::string(::mkdtemp(dir.data())) + "/x.lock";
}

TEST(PidLockTest, OneHolderAtATimeAndItsPidIsKnown) {
  const std::string path = TempPath();
  EXPECT_FALSE(PidFileLocked(path)) << "no file, no holder";
  absl::StatusOr<UniqueFd> first = LockPidFile(path);
  ASSERT_TRUE(first.ok()) << first.status();
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string written;
  std::getline(std::ifstream(path), written);
  EXPECT_EQ(written, std::to_string(::getpid())) << "the holder's pid, on the first line";
  EXPECT_TRUE(PidFileLocked(path));

  // flock locks belong to the open file: a second open conflicts, even here.
  absl::StatusOr<UniqueFd> second = LockPidFile(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("pid " + std::to_string(::getpid())),
            std::string::npos)
      << second.status();

  first->Reset();
  EXPECT_FALSE(PidFileLocked(path)) << "released with the fd";
  absl::StatusOr<UniqueFd> again = LockPidFile(path);
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST(PidLockTest, ALockDiesWithItsHolder) {
  const std::string path = TempPath();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    absl::StatusOr<UniqueFd> lock = LockPidFile(path);
    char ok = lock.ok() ? '1' : '0';
    (void)!::write(ready[1], &ok, 1);
    ::pause();
    ::_exit(0);
  }
  char ok = 0;
  ASSERT_EQ(::read(ready[0], &ok, 1), 1);
  ASSERT_EQ(ok, '1');
  EXPECT_TRUE(PidFileLocked(path));
  absl::StatusOr<UniqueFd> refused = LockPidFile(path);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("pid " + std::to_string(child)), std::string::npos)
      << refused.status();
  ::kill(child, SIGKILL);
  int status;
  ::waitpid(child, &status, 0);
  EXPECT_FALSE(PidFileLocked(path));
  EXPECT_TRUE(LockPidFile(path).ok());
}

}  // namespace
}  // namespace blimp::base

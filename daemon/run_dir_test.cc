// The run directory: its layout (VMs in their own vms/ namespace), the
// checks on a pre-existing run dir, and stale-socket cleanup that only
// touches the sockets blimpd owns.
#include "base/sockets.h"
#include "daemon/run_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "daemon/testing/test_util.h"
#include "gtest/gtest.h"

namespace blimp::daemon {
namespace {

mode_t Mode(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

TEST(RunDirTest, VmFoldersLiveInTheirOwnNamespace) {
  EXPECT_EQ(VmDir("/run/blimp", "web"), "/run/blimp/vms/web");
  // The daemon's own names are just folders under vms/.
  EXPECT_EQ(VmDir("/run/blimp", kLockFile), "/run/blimp/vms/blimpd.lock");
  EXPECT_EQ(VmDir("/run/blimp", kHttpSocket), "/run/blimp/vms/blimp.sock");
}

TEST(RunDirTest, CreatesTheLayoutAndForcesOwnerOnlyModes) {
  testing::TempRunDir tmp;
  const std::string dir = tmp.path() + "/run";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);  // Past the umask.
  ASSERT_EQ(::mkdir((dir + "/vms").c_str(), 0777), 0);
  ASSERT_EQ(::chmod((dir + "/vms").c_str(), 0777), 0);
  absl::StatusOr<base::UniqueFd> lock = LockRunDir(dir);
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_EQ(Mode(dir), 0700u);
  EXPECT_EQ(Mode(dir + "/vms"), 0700u);
  EXPECT_EQ(Mode(dir + "/" + kLockFile), 0600u);
  // A second lock on the same dir is refused.
  absl::StatusOr<base::UniqueFd> second = LockRunDir(dir);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("another blimpd"), std::string::npos);

  const std::string fresh = tmp.path() + "/fresh";
  ASSERT_TRUE(LockRunDir(fresh).ok());
  EXPECT_EQ(Mode(fresh), 0700u);
  EXPECT_EQ(Mode(fresh + "/vms"), 0700u);
}

TEST(RunDirTest, RefusesSymlinksAndFiles) {
  testing::TempRunDir tmp;
  const std::string real = tmp.path() + "/real";
  ASSERT_EQ(::mkdir(real.c_str(), 0700), 0);
  const std::string link = tmp.path() + "/link";
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  absl::StatusOr<base::UniqueFd> lock = LockRunDir(link);
  EXPECT_EQ(lock.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(lock.status().message().find("is a symlink"), std::string::npos) << lock.status();
  EXPECT_FALSE(Exists(real + "/" + kLockFile));

  // vms/ as a symlink (to somewhere an attacker chose) is refused too.
  const std::string run = tmp.path() + "/run";
  ASSERT_EQ(::mkdir(run.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(real.c_str(), (run + "/vms").c_str()), 0);
  lock = LockRunDir(run);
  EXPECT_EQ(lock.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(lock.status().message().find(run + "/vms is a symlink"), std::string::npos)
      << lock.status();

  const std::string file = tmp.path() + "/file";
  ASSERT_TRUE(WriteFile(file, "x", 0600).ok());
  lock = LockRunDir(file);
  EXPECT_EQ(lock.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(lock.status().message().find("not a directory"), std::string::npos) << lock.status();
}

TEST(RunDirTest, RemovesOnlyTheSocketsItOwns) {
  testing::TempRunDir tmp;
  const std::string dir = tmp.path();
  ASSERT_TRUE(LockRunDir(dir).ok());
  std::vector<base::UniqueFd> keep;
  auto listen = [&](const std::string& path) {
    absl::StatusOr<base::UniqueFd> fd = base::ListenUnix(path);
    ASSERT_TRUE(fd.ok()) << fd.status();
    keep.push_back(std::move(*fd));
  };
  listen(dir + "/" + kGrpcSocket);
  listen(dir + "/" + kHttpSocket);
  ASSERT_EQ(::mkdir((dir + "/vms/a").c_str(), 0700), 0);
  listen(dir + "/vms/a/" + kControlSocket);
  listen(dir + "/vms/a/" + kConsoleSocket);
  listen(dir + "/vms/a/" + kVmRestSocket);
  // Not ours: someone else's socket beside ours, in a VM folder, in an
  // unknown folder at the top, and a non-socket with a socket's name.
  listen(dir + "/other.sock");
  listen(dir + "/vms/a/other.sock");
  ASSERT_EQ(::mkdir((dir + "/elsewhere").c_str(), 0700), 0);
  listen(dir + "/elsewhere/" + kControlSocket);
  ASSERT_EQ(::mkdir((dir + "/vms/b").c_str(), 0700), 0);
  ASSERT_TRUE(WriteFile(dir + "/vms/b/" + kControlSocket, "data", 0600).ok());

  EXPECT_EQ(RemoveStaleSockets(dir), 5);
  EXPECT_FALSE(Exists(dir + "/" + kGrpcSocket));
  EXPECT_FALSE(Exists(dir + "/" + kHttpSocket));
  EXPECT_FALSE(Exists(dir + "/vms/a/" + kControlSocket));
  EXPECT_FALSE(Exists(dir + "/vms/a/" + kConsoleSocket));
  EXPECT_FALSE(Exists(dir + "/vms/a/" + kVmRestSocket));
  EXPECT_TRUE(Exists(dir + "/other.sock"));
  EXPECT_TRUE(Exists(dir + "/vms/a/other.sock"));
  EXPECT_TRUE(Exists(dir + "/elsewhere/" + kControlSocket));
  EXPECT_TRUE(Exists(dir + "/vms/b/" + kControlSocket));
  EXPECT_TRUE(Exists(dir + "/" + kLockFile));
}

}  // namespace
}  // namespace blimp::daemon

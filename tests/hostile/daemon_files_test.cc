// blimpd's own files against the API: a VM id can only ever name its own
// folder under <run-dir>/vms/, so ids that spell the daemon's sockets or lock
// create ordinary VMs and leave the daemon's files alone; a run directory
// that already exists is made owner-only.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/http_client.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

ino_t Inode(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST(DaemonFilesTest, IdsThatSpellDaemonFilesNeverTouchThem) {
  auto started = DaemonProcess::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  const std::vector<std::string> files = {"blimp.sock", "blimp.grpc.sock", "blimpd.lock"};
  std::vector<ino_t> inodes;
  for (const std::string& name : files) {
    inodes.push_back(Inode(daemon.run_dir() + "/" + name));
    ASSERT_NE(inodes.back(), 0u) << name;
  }
  const std::string config =
      absl::StrCat(R"({"boot-source": {"kernel_image_path": ")", TestGuestKernel(),
                   R"("}, "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}})");
  for (const char* id : {"blimp.sock", "blimp.grpc.sock", "blimpd.lock", "vms"}) {
    auto created = HttpRequest(daemon.rest_socket(), "PUT", absl::StrCat("/vms/", id), config);
    ASSERT_TRUE(created.ok()) << created.status();
    EXPECT_EQ(created->status, 204) << id << ": " << created->body;
    auto deleted = HttpRequest(daemon.rest_socket(), "DELETE", absl::StrCat("/vms/", id));
    ASSERT_TRUE(deleted.ok()) << deleted.status();
    EXPECT_EQ(deleted->status, 204) << id << ": " << deleted->body;
  }
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(Inode(daemon.run_dir() + "/" + files[i]), inodes[i]) << files[i];
  }
  // Both APIs still answer, and the lock is still held.
  auto list = HttpRequest(daemon.rest_socket(), "GET", "/vms");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->status, 200);
  EXPECT_TRUE(daemon.GetVm("nothing").status().code() == absl::StatusCode::kNotFound);
  int lock = ::open((daemon.run_dir() + "/blimpd.lock").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(lock, 0);
  EXPECT_EQ(::flock(lock, LOCK_EX | LOCK_NB), -1);
  ::close(lock);
}

TEST(DaemonFilesTest, AnOpenRunDirectoryIsMadeOwnerOnly) {
  auto started = DaemonProcess::Start({}, /*run_dir_mode=*/0755);
  ASSERT_TRUE(started.ok()) << started.status();
  struct stat st;
  ASSERT_EQ(::stat((*started)->run_dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

}  // namespace
}  // namespace blimp::tests

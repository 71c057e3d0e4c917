// A jailed child, checked from inside: jail_probe (in place of blimp-vmm)
// tries what a compromised VMM would try and reports each check.
#include "daemon/jail.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/sockets.h"
#include "daemon/child_process.h"
#include "daemon/run_dir.h"
#include "daemon/testing/test_util.h"
#include "gtest/gtest.h"

namespace blimp::daemon {
namespace {

constexpr uid_t kUid = 912345;

std::string ReadAll(const std::string& path) {
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return text.str();
}

TEST(JailTest, TheChildSeesOnlyItsOwnVmAndHasNoPrivilege) {
  if (::geteuid() != 0) GTEST_SKIP() << "!!! the jail needs root: SKIPPED !!!";
  testing::TempRunDir run;
  const std::string own = run.path() + "/vms/a", other = run.path() + "/vms/b";
  const std::string image = run.path() + "/kernel", jail_root = run.path() + "/jail";
  for (const std::string& dir : {run.path() + "/vms", own, other, jail_root}) {
    ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0) << dir;
  }
  ASSERT_EQ(::chown(own.c_str(), kUid, kUid), 0);
  ASSERT_TRUE(WriteFile(image, "a kernel", 0666).ok());  // Only the jail can make it read-only.
  ASSERT_EQ(::chmod(image.c_str(), 0666), 0);
  ASSERT_TRUE(WriteFile(other + "/secret", "another VM's", 0600).ok());
  auto daemon_socket = base::ListenUnix(run.path() + "/blimp.sock");
  ASSERT_TRUE(daemon_socket.ok());
  int port = 0;
  auto tcp = base::ListenTcp("127.0.0.1:0", &port);
  ASSERT_TRUE(tcp.ok());
  pid_t outside = ::fork();
  if (outside == 0) {
    ::pause();
    ::_exit(0);
  }

  const std::string probe = testing::Runfile("daemon/testing/jail_probe");
  JailConfig config;
  config.uid = kUid;
  config.gid = kUid;
  config.root_mountpoint = jail_root;
  config.vm_dir = own;
  config.read_only = {probe, image};
  absl::StatusOr<JailPlan> plan = JailPlan::For(config);
  ASSERT_TRUE(plan.ok()) << plan.status();
  const std::string out = run.path() + "/probe.out";
  base::UniqueFd out_fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  base::UniqueFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  SpawnOptions spawn;
  spawn.argv = {probe,         std::to_string(kUid), own, other, run.path() + "/blimp.sock",
                image,         std::to_string(outside), std::to_string(port)};
  spawn.stdin_fd = null_fd.get();
  spawn.stdout_fd = out_fd.get();
  spawn.stderr_fd = out_fd.get();
  spawn.jail = &*plan;
  absl::StatusOr<Child> child = Spawn(spawn);
  ASSERT_TRUE(child.ok()) << child.status();
  int status = 0;
  ASSERT_EQ(::waitpid(child->pid, &status, 0), child->pid);
  ::kill(outside, SIGKILL);
  ::waitpid(outside, nullptr, 0);
  const std::string report = ReadAll(out);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << report;
  int checks = 0;
  for (absl::string_view line : absl::StrSplit(report, '\n', absl::SkipEmpty())) {
    ++checks;
    EXPECT_NE(line.find(" ok"), absl::string_view::npos) << line;
  }
  EXPECT_EQ(checks, 16) << report;
  // The probe's file is in the VM's folder on the host, owned by the VM's user.
  struct stat st;
  ASSERT_EQ(::stat((own + "/probe-wrote-this").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kUid);
  // Nothing of the jail shows on the host.
  EXPECT_EQ(ReadAll("/proc/self/mountinfo").find(jail_root), std::string::npos)
      << "the jail's mounts leaked to the host";
}

TEST(JailTest, PlansRefuseRootAndMissingPaths) {
  JailConfig config;
  config.root_mountpoint = "/tmp";
  config.vm_dir = "/tmp";
  EXPECT_EQ(JailPlan::For(config).status().code(), absl::StatusCode::kInvalidArgument);
  config.uid = config.gid = kUid;
  config.read_only = {"/no/such/kernel"};
  EXPECT_EQ(JailPlan::For(config).status().code(), absl::StatusCode::kNotFound);
  config.read_only = {"relative/kernel"};
  EXPECT_EQ(JailPlan::For(config).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace blimp::daemon

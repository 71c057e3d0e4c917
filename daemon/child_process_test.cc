#include "daemon/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace blimp::daemon {
namespace {

// Runs a shell snippet as a child; returns its stdout and wait status.
std::string RunShell(const std::string& script, int* wait_status, pid_t* pid_out = nullptr) {
  int out[2];
  EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
  base::UniqueFd read_end(out[0]), write_end(out[1]);
  base::UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  // An extra fd the child must not inherit (no O_CLOEXEC on purpose).
  base::UniqueFd leak(::open("/dev/null", O_RDONLY));
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", script};
  options.stdin_fd = null.get();
  options.stdout_fd = write_end.get();
  options.stderr_fd = null.get();
  absl::StatusOr<Child> child = Spawn(options);
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return "";
  if (pid_out != nullptr) *pid_out = child->pid;
  write_end.Reset();
  std::string output;
  char buffer[1024];
  ssize_t n;
  while ((n = ::read(read_end.get(), buffer, sizeof(buffer))) > 0) output.append(buffer, n);
  EXPECT_EQ(::waitpid(child->pid, wait_status, 0), child->pid);
  return output;
}

TEST(ChildProcessTest, IsolatesTheChild) {
  int status = 0;
  std::string output = RunShell(
      "echo pid=$$ pgid=$(ps -o pgid= -p $$ 2>/dev/null | tr -d ' ');"
      "grep NoNewPrivs /proc/self/status; ls /proc/$$/fd | tr '\\n' ' '",
      &status);
  EXPECT_TRUE(ExitedCleanly(status));
  EXPECT_NE(output.find("NoNewPrivs:\t1"), std::string::npos) << output;
  // Only 0, 1, 2 (and whatever ls itself opens in its own process).
  EXPECT_NE(output.find("0 1 2 "), std::string::npos) << output;
  EXPECT_EQ(output.find("0 1 2 3"), std::string::npos) << output;
}

TEST(ChildProcessTest, OwnProcessGroup) {
  base::UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  SpawnOptions options;
  options.argv = {"/bin/sleep", "5"};
  options.stdin_fd = options.stdout_fd = options.stderr_fd = null.get();
  absl::StatusOr<Child> child = Spawn(options);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(::getpgid(child->pid), child->pid);
  EXPECT_NE(::getpgid(child->pid), ::getpgid(0));
  ::kill(child->pid, SIGKILL);
  int status;
  ASSERT_EQ(::waitpid(child->pid, &status, 0), child->pid);
  EXPECT_EQ(DescribeWaitStatus(status), "killed by signal 9");
}

TEST(ChildProcessTest, DescribesExitStatus) {
  int status = 0;
  RunShell("exit 3", &status);
  EXPECT_FALSE(ExitedCleanly(status));
  EXPECT_EQ(DescribeWaitStatus(status), "blimp-vmm exited with status 3");
}

TEST(ChildProcessTest, ExecFailureIsAnError) {
  base::UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  SpawnOptions options;
  options.argv = {"/nonexistent/blimp-vmm"};
  options.stdin_fd = options.stdout_fd = options.stderr_fd = null.get();
  absl::StatusOr<Child> child = Spawn(options);
  ASSERT_FALSE(child.ok());
  EXPECT_NE(child.status().message().find("/nonexistent/blimp-vmm"), std::string::npos);
}

}  // namespace
}  // namespace blimp::daemon

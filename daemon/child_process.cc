#include "daemon/child_process.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/errno_status.h"
#include "daemon/jail.h"

namespace blimp::daemon {
namespace {

// Runs in the forked child: only async-signal-safe calls. Reports a failure
// as an errno on `error_fd` (close-on-exec, so a successful exec closes it).
[[noreturn]] void ExecChild(const SpawnOptions& options, char* const* argv, int error_fd) {
  auto fail = [error_fd](int err) {
    ssize_t ignored = ::write(error_fd, &err, sizeof(err));
    (void)ignored;
    ::_exit(127);
  };
  if (::setpgid(0, 0) < 0) fail(errno);
  if (options.jail != nullptr) {
    if (int err = options.jail->Enter(); err != 0) fail(err);
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(errno);
  // Dispositions set to "ignore" (e.g. SIGPIPE by gRPC) survive exec.
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }
  sigset_t empty;
  sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);
  // Move the error pipe out of the way of 0..2 before the dup2s.
  if (error_fd <= 2) {
    int moved = ::fcntl(error_fd, F_DUPFD_CLOEXEC, 3);
    if (moved < 0) ::_exit(127);
    error_fd = moved;
  }
  const int sources[3] = {options.stdin_fd, options.stdout_fd, options.stderr_fd};
  int safe[3];
  for (int i = 0; i < 3; ++i) {
    // Duplicate first so that a source that is itself 0..2 is not clobbered.
    safe[i] = ::fcntl(sources[i], F_DUPFD_CLOEXEC, 3);
    if (safe[i] < 0) fail(errno);
  }
  for (int i = 0; i < 3; ++i) {
    if (::dup2(safe[i], i) < 0) fail(errno);  // dup2 clears close-on-exec.
  }
  // Every other fd: close-on-exec (the error pipe must stay open until exec).
  if (::syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) < 0) {
    rlimit limit{};
    int max_fd = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 65536
                     ? static_cast<int>(limit.rlim_cur)
                     : 65536;
    for (int fd = 3; fd < max_fd; ++fd) {
      if (fd != error_fd) ::close(fd);
    }
    ::fcntl(error_fd, F_SETFD, FD_CLOEXEC);
  }
  ::execv(argv[0], argv);
  fail(errno);
  ::_exit(127);
}

}  // namespace

absl::StatusOr<Child> Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("no program to run");
  if (options.stdin_fd < 0 || options.stdout_fd < 0 || options.stderr_fd < 0) {
    return absl::InvalidArgumentError("the child needs stdin, stdout and stderr");
  }
  std::vector<char*> argv;
  for (const std::string& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  int error_pipe[2];
  if (::pipe2(error_pipe, O_CLOEXEC) < 0) return base::ErrnoStatus("pipe2");
  base::UniqueFd error_read(error_pipe[0]);
  base::UniqueFd error_write(error_pipe[1]);

  int clone_pidfd = -1;
  pid_t pid;
  if (options.jail != nullptr) {
    // clone3 as a fork into new namespaces; the pidfd comes with it.
    clone_args args = {};
    args.flags = kJailNamespaces | CLONE_PIDFD;
    args.pidfd = reinterpret_cast<uint64_t>(&clone_pidfd);
    args.exit_signal = SIGCHLD;
    pid = static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof(args)));
  } else {
    pid = ::fork();
  }
  if (pid < 0) return base::ErrnoStatus(options.jail != nullptr ? "clone3 (jail)" : "fork");
  if (pid == 0) ExecChild(options, argv.data(), error_write.get());
  base::UniqueFd owned_clone_pidfd(clone_pidfd);
  error_write.Reset();

  // Also in the parent, so that signalling the group cannot race the exec.
  ::setpgid(pid, pid);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(error_read.get(), &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n == sizeof(child_errno)) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return base::ErrnoStatus(absl::StrCat(options.jail != nullptr ? "cannot jail or run "
                                                                  : "cannot run ",
                                          options.argv[0]),
                             child_errno);
  }
  Child child;
  child.pid = pid;
  if (owned_clone_pidfd.valid()) {
    child.pidfd = std::move(owned_clone_pidfd);
    return child;
  }
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    absl::Status status = base::ErrnoStatus("pidfd_open");
    ::kill(pid, SIGKILL);
    int wstatus;
    ::waitpid(pid, &wstatus, 0);
    return status;
  }
  ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  child.pidfd.Reset(pidfd);
  return child;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("blimp-vmm exited with status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("killed by signal ", WTERMSIG(status));
  return absl::StrCat("unknown wait status ", status);
}

bool ExitedCleanly(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

}  // namespace blimp::daemon

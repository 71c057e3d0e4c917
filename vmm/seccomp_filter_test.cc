#include "vmm/seccomp_filter.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "vmm/console/console_host.h"

namespace blimp::vmm {
namespace {

// Runs `body` in a forked child after installing the filter; returns the
// child's wait status.
int RunFiltered(const std::function<void()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!InstallVmmSeccompFilter().ok()) ::_exit(100);
    body();
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

bool KilledBySigsys(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS; }

TEST(SeccompFilterTest, WhatARunningVmmDoesIsAllowed) {
  int status = RunFiltered([] {
    // A balloon discard, a thread, a read-only /proc file, an eventfd-style
    // pipe, a signal to our own thread.
    void* p = ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    std::memset(p, 1, 1 << 20);
    if (::madvise(p, 1 << 20, MADV_DONTNEED) != 0) ::_exit(1);
    std::thread([] {}).join();
    int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    char buffer[64];
    if (fd < 0 || ::read(fd, buffer, sizeof(buffer)) <= 0) ::_exit(2);
    ::close(fd);
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) ::_exit(3);
  });
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SeccompFilterTest, TheHostedConsoleRotatesItsLogUnderTheFilter) {
  char dir[] = "/tmp/blimp-seccomp-console-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string log = std::string(dir) + "/console.log";
  pid_t pid = ::fork();
  if (pid == 0) {
    ConsoleOptions options;
    options.log_path = log;
    options.socket_path = std::string(dir) + "/console.sock";
    options.max_log_bytes = 1000;
    auto console = ConsoleHost::Start(options);  // Before the filter, as in blimp-vmm.
    if (!console.ok()) ::_exit(100);
    if (!InstallVmmSeccompFilter().ok()) ::_exit(101);
    const std::string output(3500, 'x');
    if (::write((*console)->uart_output_fd(), output.data(), output.size()) != 3500) ::_exit(1);
    console->reset();  // Drains, rotates three times, removes console.sock.
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  struct stat st;
  ASSERT_EQ(::stat(log.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 500);
  ASSERT_EQ(::stat((log + ".1").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1000);
  EXPECT_NE(::access((std::string(dir) + "/console.sock").c_str(), F_OK), 0);
  std::filesystem::remove_all(dir);
}

TEST(SeccompFilterTest, ForbiddenCallsKillTheProcess) {
  const std::pair<const char*, std::function<void()>> cases[] = {
      {"open for writing", [] { ::open("/tmp/blimp-seccomp-test", O_WRONLY | O_CREAT, 0600); }},
      {"socket", [] { ::socket(AF_INET, SOCK_STREAM, 0); }},
      {"execve", [] {
         char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
         ::execv("/bin/true", argv);
       }},
      {"fork", [] { ::fork(); }},
      {"madvise other than DONTNEED", [] {
         void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0);
         ::madvise(p, 4096, MADV_REMOVE);
       }},
      {"non-KVM ioctl", [] { ::ioctl(0, 0x5402 /* TCSETS */, nullptr); }},
      {"signal to another process", [] { ::kill(1, 0); }},
  };
  for (const auto& [name, body] : cases) {
    EXPECT_TRUE(KilledBySigsys(RunFiltered(body))) << name;
  }
}

}  // namespace
}  // namespace blimp::vmm

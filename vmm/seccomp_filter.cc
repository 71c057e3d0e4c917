#include "vmm/seccomp_filter.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "absl/strings/str_cat.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

namespace blimp::vmm {
namespace {

// Allowed without looking at arguments: memory, time, threads' own
// bookkeeping, and I/O on fds the process already holds.
constexpr int kAllowed[] = {
    // Event loop, eventfds, timers, pipes and the console.
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
    SCMP_SYS(close), SCMP_SYS(lseek), SCMP_SYS(fcntl), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
    SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_create1),
    SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(eventfd2), SCMP_SYS(pipe2),
    SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
    // Serving the control and API sockets that are already listening.
    SCMP_SYS(accept4), SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(sendto),
    SCMP_SYS(sendmsg), SCMP_SYS(shutdown), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
    SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
    // Memory (madvise is checked below).
    SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap), SCMP_SYS(brk),
    // Threads, signals, time.
    SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sched_yield),
    SCMP_SYS(sched_getaffinity), SCMP_SYS(sched_getparam), SCMP_SYS(sched_getscheduler),
    SCMP_SYS(sched_get_priority_min), SCMP_SYS(sched_get_priority_max), SCMP_SYS(getcpu), SCMP_SYS(gettid), SCMP_SYS(getpid),
    SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
    SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigtimedwait),
    SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall),
    SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(clock_gettime),
    SCMP_SYS(gettimeofday), SCMP_SYS(getrandom), SCMP_SYS(sysinfo), SCMP_SYS(uname),
    SCMP_SYS(prlimit64), SCMP_SYS(exit), SCMP_SYS(exit_group),
    // Removing our own sockets at shutdown.
    SCMP_SYS(unlink),
    // console.log's rotation: copy and truncate on the fds it holds
    // (vmm/console/console_log.h), never a path.
    SCMP_SYS(ftruncate),
    // Snapshots: RAM written at its offsets into a new file (see below), and
    // synced.
    SCMP_SYS(pwrite64), SCMP_SYS(fsync),
};

struct ContextDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};

absl::Status Check(int rc, const char* what) {
  if (rc < 0) return absl::InternalError(absl::StrCat("seccomp ", what, ": ", strerror(-rc)));
  return absl::OkStatus();
}

// Argument `arg` compared with `op`: datum_a, and datum_b for MASKED_EQ (the
// mask, then the value). libseccomp's SCMP_A<n> macros leave datum_b out of
// their initializer, which clang's -Wmissing-field-initializers rejects.
constexpr scmp_arg_cmp Arg(unsigned int arg, scmp_compare op, scmp_datum_t a,
                           scmp_datum_t b = 0) {
  return scmp_arg_cmp{arg, op, a, b};
}

}  // namespace

absl::Status InstallVmmSeccompFilter() {
#if defined(__SANITIZE_ADDRESS__)
  // LeakSanitizer stops the world with ptrace at exit, which the filter
  // forbids: check for leaks now (this also turns the exit-time check off).
  __lsan_do_leak_check();
#endif
  std::unique_ptr<void, ContextDeleter> ctx(seccomp_init(SCMP_ACT_KILL_PROCESS));
  if (!ctx) return absl::InternalError("seccomp_init failed");
  scmp_filter_ctx c = ctx.get();
  for (int syscall : kAllowed) {
    if (absl::Status s = Check(seccomp_rule_add(c, SCMP_ACT_ALLOW, syscall, 0), "allow");
        !s.ok()) {
      return s;
    }
  }
  const pid_t self = ::getpid();
  struct Rule {
    int syscall;
    unsigned count;
    scmp_arg_cmp args[1];
    const char* what;
  };
  const Rule rules[] = {
      // KVM ioctls only (type 0xAE), plus TCGETS for isatty() on the console.
      {SCMP_SYS(ioctl), 1, {Arg(1, SCMP_CMP_MASKED_EQ, 0xff00, KVMIO << 8)}, "KVM ioctl"},
      {SCMP_SYS(ioctl), 1, {Arg(1, SCMP_CMP_EQ, TCGETS)}, "TCGETS"},
      // The balloon's discards, and malloc's.
      {SCMP_SYS(madvise), 1, {Arg(2, SCMP_CMP_EQ, MADV_DONTNEED)}, "MADV_DONTNEED"},
      // New threads only, never new processes.
      {SCMP_SYS(clone), 1, {Arg(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)}, "threads"},
      // Read-only opens (statistics from /proc/self).
      {SCMP_SYS(openat), 1,
       {Arg(2, SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY)},
       "read-only open"},
      // A snapshot's files: created, never an existing file opened for
      // writing (so nothing the VMM can reach is overwritten or truncated).
      {SCMP_SYS(openat), 1,
       {Arg(2, SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC,
            O_WRONLY | O_CREAT | O_EXCL)},
       "new file"},
      // Thread names (the REST gateway's lane workers name themselves).
      {SCMP_SYS(prctl), 1, {Arg(0, SCMP_CMP_EQ, PR_SET_NAME)}, "PR_SET_NAME"},
      {SCMP_SYS(prctl), 1, {Arg(0, SCMP_CMP_EQ, PR_GET_NAME)}, "PR_GET_NAME"},
      // Signals to our own threads only (vCPU kicks).
      {SCMP_SYS(tgkill), 1, {Arg(0, SCMP_CMP_EQ, static_cast<scmp_datum_t>(self))}, "tgkill"},
  };
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer's allocator tunes its shadow memory with these; they
  // never drop data. Only in sanitizer builds.
  for (int advice : {MADV_NOHUGEPAGE, MADV_HUGEPAGE, MADV_DONTDUMP, MADV_DODUMP}) {
    scmp_arg_cmp arg = Arg(2, SCMP_CMP_EQ, static_cast<scmp_datum_t>(advice));
    if (absl::Status s = Check(seccomp_rule_add_array(c, SCMP_ACT_ALLOW, SCMP_SYS(madvise), 1,
                                                      &arg),
                               "sanitizer madvise");
        !s.ok()) {
      return s;
    }
  }
#endif
  for (const Rule& rule : rules) {
    if (absl::Status s = Check(seccomp_rule_add_array(c, SCMP_ACT_ALLOW, rule.syscall,
                                                      rule.count, rule.args),
                               rule.what);
        !s.ok()) {
      return s;
    }
  }
  // clone3 passes its flags in memory, out of the filter's reach: make glibc
  // fall back to clone(), whose flags are checked above.
  if (absl::Status s = Check(seccomp_rule_add(c, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0),
                             "clone3");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = Check(seccomp_attr_set(c, SCMP_FLTATR_CTL_TSYNC, 1), "tsync"); !s.ok()) {
    return s;
  }
  return Check(seccomp_load(c), "load");
}

}  // namespace blimp::vmm

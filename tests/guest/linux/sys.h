// Raw x86-64 Linux system calls and a few string helpers for the guest's
// freestanding programs (init.c, memhog.c): no libc, so the initramfs the
// kernel unpacks in emulated ring 0 stays a few KiB.
#ifndef BLIMP_TESTS_GUEST_LINUX_SYS_H_
#define BLIMP_TESTS_GUEST_LINUX_SYS_H_

#include <stddef.h>
#include <stdint.h>

enum {
  SYS_read = 0, SYS_write = 1, SYS_open = 2, SYS_close = 3, SYS_mmap = 9, SYS_ioctl = 16,
  SYS_pipe = 22, SYS_dup2 = 33, SYS_pause = 34, SYS_nanosleep = 35, SYS_fork = 57,
  SYS_execve = 59, SYS_exit = 60, SYS_wait4 = 61, SYS_kill = 62, SYS_uname = 63,
  SYS_getdents64 = 217, SYS_syslog = 103, SYS_sync = 162, SYS_mount = 165, SYS_reboot = 169,
};

static inline long sys6(long nr, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#define sys(nr, a, b, c) sys6(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static inline size_t str_len(const char* s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

static inline int str_eq(const char* a, const char* b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

static inline int starts_with(const char* s, const char* prefix) {
  while (*prefix && *s == *prefix) s++, prefix++;
  return *prefix == 0;
}

static inline void say(const char* s) { sys(SYS_write, 1, s, str_len(s)); }

// Decimal, non-negative; -1 if `s` is not a number.
static inline long parse_num(const char* s) {
  long v = 0;
  if (*s == 0) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > (1l << 40)) return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

static inline void say_num(long v) {
  char buf[24];
  int i = sizeof(buf) - 1;
  buf[i] = 0;
  do buf[--i] = (char)('0' + v % 10), v /= 10; while (v && i > 0);
  say(buf + i);
}

// The kernel enters with the stack holding argc, argv[], NULL, envp[].
#define DEFINE_START(main_fn)                                                        \
  __asm__(".globl _start\n_start:\n  mov (%rsp), %rdi\n  lea 8(%rsp), %rsi\n"        \
          "  and $-16, %rsp\n  call " #main_fn "\n  hlt\n")

#endif  // BLIMP_TESTS_GUEST_LINUX_SYS_H_

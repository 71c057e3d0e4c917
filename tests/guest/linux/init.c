// /init of the Blimp Linux guest. Prints BLIMP-GUEST-READY, then serves one
// command per console line, each answered with "ok" or "error: ..." as the
// Blimp test guest's shell does (tests/e2e/vm_process.h):
//
//   mem                MemTotal/MemFree/MemAvailable in KiB
//   hog MIB            memhog holds MIB MiB in the background (until unhog)
//   unhog              frees what hog holds
//   memhog MIB         touches MIB MiB and exits; error if it was killed
//   cat PATH | ls DIR  a file's text, a directory's entries
//   dmesg-check        error if the kernel log has a probe failure, an ACPI
//                      error or a call trace
//   dmesg-count TEXT   how many kernel log lines contain TEXT
//   unbind | bind      the balloon driver off/on its device through sysfs
//   fill MIB           writes MIB MiB of a known pattern to /fill.dat
//   check              error unless /fill.dat still holds that pattern
//   poweroff
//
// Freestanding, not a busybox script: the kernel unpacks the initramfs in
// emulated ring 0 on this host (~150 KiB/s), and every fork+exec of a shell
// costs seconds there.
#include "sys.h"

static char buf[1 << 17];  // The kernel log buffer is 128 KiB (LOG_BUF_SHIFT).
static long hogs[64];
static int nhogs;

static void fail(const char* what, const char* detail) {
  say("error: ");
  say(what);
  if (detail) say(detail);
  say("\n");
}

// Reads a whole (small) file into buf; its length, or -1.
static long slurp(const char* path) {
  long fd = sys(SYS_open, path, 0, 0);
  if (fd < 0) return -1;
  long n = 0, r;
  while (n < (long)sizeof(buf) - 1 && (r = sys(SYS_read, fd, buf + n, sizeof(buf) - 1 - n)) > 0) n += r;
  sys(SYS_close, fd, 0, 0);
  buf[n] = 0;
  return n;
}

static int write_file(const char* path, const char* text) {
  long fd = sys(SYS_open, path, 1 /* O_WRONLY */, 0);
  if (fd < 0) return -1;
  long r = sys(SYS_write, fd, text, str_len(text));
  sys(SYS_close, fd, 0, 0);
  return r == (long)str_len(text) ? 0 : -1;
}

// Calls fn on each line of `text` (cut at '\n' in place, then restored);
// the sum of what it returned.
static long each_line(char* text, int (*fn)(char* line, const char* arg), const char* arg) {
  long sum = 0;
  for (char* line = text; *line;) {
    char* end = line;
    while (*end && *end != '\n') end++;
    char saved = *end;
    *end = 0;
    sum += fn(line, arg);
    *end = saved;
    line = saved ? end + 1 : end;
  }
  return sum;
}

// "MemTotal:   123 kB" -> "MemTotal 123", for the three fields the tests read.
static int meminfo_line(char* line, const char* unused) {
  (void)unused;
  if (!starts_with(line, "MemTotal:") && !starts_with(line, "MemFree:") &&
      !starts_with(line, "MemAvailable:")) {
    return 0;
  }
  char* colon = line;
  while (*colon != ':') colon++;
  *colon = 0;
  char* value = colon + 1;
  while (*value == ' ') value++;
  char* unit = value;
  while (*unit >= '0' && *unit <= '9') unit++;
  *unit = 0;
  say(line), say(" "), say(value), say("\n");
  return 1;
}

static void cmd_mem(void) {
  if (slurp("/proc/meminfo") < 0) return fail("no /proc/meminfo", 0);
  each_line(buf, meminfo_line, 0);
  say("ok\n");
}

// Starts /bin/memhog MIB [SECONDS] with its stdout on a pipe; its pid.
static long start_memhog(const char* mib, const char* seconds, long* out_fd) {
  int fds[2];
  if (sys(SYS_pipe, fds, 0, 0) < 0) return -1;
  long pid = sys(SYS_fork, 0, 0, 0);
  if (pid == 0) {
    sys(SYS_dup2, fds[1], 1, 0);
    char* argv[] = {"memhog", (char*)mib, (char*)seconds, 0};
    char* envp[] = {0};
    sys(SYS_execve, "/bin/memhog", argv, envp);
    sys(SYS_exit, 127, 0, 0);
  }
  sys(SYS_close, fds[1], 0, 0);
  *out_fd = fds[0];
  return pid;
}

static void cmd_hog(const char* mib) {
  if (nhogs == (int)(sizeof(hogs) / sizeof(hogs[0]))) return fail("too many hogs", 0);
  long fd;
  long pid = start_memhog(mib, 0, &fd);
  if (pid < 0) return fail("fork", 0);
  long n = 0, r;
  while (n < 200 && (r = sys(SYS_read, fd, buf + n, 200 - n)) > 0) {
    n += r;
    if (buf[n - 1] == '\n') break;
  }
  sys(SYS_close, fd, 0, 0);
  buf[n] = 0;
  hogs[nhogs++] = pid;
  if (starts_with(buf, "memhog: touched")) return say("ok\n");
  fail("memhog: ", buf);
}

static int wait_status(long pid) {
  int status = 0;
  sys6(SYS_wait4, pid, (long)&status, 0, 0, 0, 0);
  return status;
}

static void cmd_unhog(void) {
  for (int i = 0; i < nhogs; i++) {
    sys(SYS_kill, hogs[i], 9, 0);
    wait_status(hogs[i]);
  }
  nhogs = 0;
  say("ok\n");
}

static void cmd_memhog(const char* mib) {
  long fd;
  long pid = start_memhog(mib, "0", &fd);
  if (pid < 0) return fail("fork", 0);
  while (sys(SYS_read, fd, buf, sizeof(buf)) > 0) {
  }
  sys(SYS_close, fd, 0, 0);
  int status = wait_status(pid);
  if ((status & 0x7f) != 0) {
    say("error: memhog killed by signal "), say_num(status & 0x7f), say("\n");
  } else if (((status >> 8) & 0xff) != 0) {
    say("error: memhog exit "), say_num((status >> 8) & 0xff), say("\n");
  } else {
    say("ok\n");
  }
}

// The pattern of `fill`: word i of the file.
static unsigned long fill_word(unsigned long i) { return (i * 0x9e3779b97f4a7c15ul) | 1; }

static void cmd_fill(const char* mib_text) {
  long mib = parse_num(mib_text);
  if (mib <= 0 || mib > 1024) return fail("usage: fill MIB", 0);
  long fd = sys(SYS_open, "/fill.dat", 0x241 /* O_WRONLY|O_CREAT|O_TRUNC */, 0644);
  if (fd < 0) return fail("cannot create /fill.dat", 0);
  unsigned long* block = (unsigned long*)buf;
  for (unsigned long b = 0; b < (unsigned long)mib * 256; b++) {
    for (unsigned long i = 0; i < 512; i++) block[i] = fill_word(b * 512 + i);
    if (sys(SYS_write, fd, block, 4096) != 4096) {
      sys(SYS_close, fd, 0, 0);
      return fail("write to /fill.dat failed", 0);
    }
  }
  sys(SYS_close, fd, 0, 0);
  say("ok\n");
}

static void cmd_check(void) {
  long fd = sys(SYS_open, "/fill.dat", 0, 0);
  if (fd < 0) return fail("no /fill.dat", 0);
  unsigned long* block = (unsigned long*)buf;
  long bad = 0, blocks = 0;
  for (unsigned long b = 0; sys(SYS_read, fd, block, 4096) == 4096; b++, blocks++) {
    for (unsigned long i = 0; i < 512; i++) {
      if (block[i] != fill_word(b * 512 + i)) {
        bad++;
        break;
      }
    }
  }
  sys(SYS_close, fd, 0, 0);
  if (bad) return say("error: "), say_num(bad), say(" of "), say_num(blocks), say(" blocks differ\n");
  say("checked "), say_num(blocks), say(" blocks\nok\n");
}

static void cmd_cat(const char* path) {
  if (slurp(path) < 0) return fail("cannot read ", path);
  say(buf);
  if (buf[0] && buf[str_len(buf) - 1] != '\n') say("\n");
  say("ok\n");
}

static void cmd_ls(const char* dir) {
  long fd = sys(SYS_open, dir, 0x10000 /* O_DIRECTORY */, 0);
  if (fd < 0) return fail("cannot open ", dir);
  long n;
  while ((n = sys(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
    for (long off = 0; off < n;) {
      unsigned short reclen = *(unsigned short*)(buf + off + 16);
      const char* name = buf + off + 19;
      if (!str_eq(name, ".") && !str_eq(name, "..")) say(name), say("\n");
      off += reclen;
    }
  }
  sys(SYS_close, fd, 0, 0);
  say("ok\n");
}

static int contains(const char* line, const char* text) {
  for (; *line; line++) {
    if (starts_with(line, text)) return 1;
  }
  return 0;
}

// Calls fn on each line of the kernel log (SYSLOG_ACTION_READ_ALL).
static long each_log_line(int (*fn)(char* line, const char* arg), const char* arg) {
  long n = sys(SYS_syslog, 3, buf, sizeof(buf) - 1);
  if (n < 0) return -1;
  buf[n] = 0;
  return each_line(buf, fn, arg);
}

static int bad_line(char* line, const char* unused) {
  (void)unused;
  static const char* const bad[] = {"ACPI Error", "ACPI BIOS Error", "can't request region",
                                    "Call Trace", "BUG:", "WARNING:"};
  int is_bad = contains(line, "probe of ") && contains(line, " failed");
  for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) is_bad |= contains(line, bad[i]);
  if (is_bad) say("bad: "), say(line), say("\n");
  return is_bad;
}

static int has_text(char* line, const char* text) { return contains(line, text); }

// dst = a + b + c, cut to `size`.
static void join(char* dst, size_t size, const char* a, const char* b, const char* c) {
  const char* parts[] = {a, b, c};
  size_t n = 0;
  for (int i = 0; i < 3; i++) {
    for (const char* p = parts[i]; *p && n + 1 < size; p++) dst[n++] = *p;
  }
  dst[n] = 0;
}

// The balloon's virtio device (id 5) under /sys/bus/virtio/devices.
static int balloon_dev(char* name, size_t size) {
  long fd = sys(SYS_open, "/sys/bus/virtio/devices", 0x10000 /* O_DIRECTORY */, 0);
  if (fd < 0) return -1;
  static char dents[4096];
  long n = sys(SYS_getdents64, fd, dents, sizeof(dents));
  sys(SYS_close, fd, 0, 0);
  for (long off = 0; off < n; off += *(unsigned short*)(dents + off + 16)) {
    const char* entry = dents + off + 19;
    if (entry[0] == '.') continue;
    char path[128];
    join(path, sizeof(path), "/sys/bus/virtio/devices/", entry, "/device");
    if (slurp(path) > 0 && starts_with(buf, "0x0005")) {
      join(name, size, entry, "", "");
      return 0;
    }
  }
  return -1;
}

static void cmd_driver(const char* action) {
  char dev[64], path[96];
  join(path, sizeof(path), "/sys/bus/virtio/drivers/virtio_balloon/", action, "");
  if (balloon_dev(dev, sizeof(dev)) < 0) return fail("no balloon device", 0);
  if (write_file(path, dev) < 0) return fail("cannot write ", path);
  say("ok\n");
}

// One line from the console into `line` (without '\n'); 0 at end of input.
static int read_line(char* line, size_t size) {
  size_t n = 0;
  char c;
  while (sys(SYS_read, 0, &c, 1) == 1) {
    if (c == '\n' || c == '\r') {
      if (n == 0) continue;
      line[n] = 0;
      return 1;
    }
    if (n + 1 < size) line[n++] = c;
  }
  return 0;
}

static void serve(char* line) {
  char* arg = line;
  while (*arg && *arg != ' ') arg++;
  if (*arg) *arg++ = 0;
  if (str_eq(line, "mem")) return cmd_mem();
  if (str_eq(line, "hog")) return cmd_hog(arg);
  if (str_eq(line, "unhog")) return cmd_unhog();
  if (str_eq(line, "memhog")) return cmd_memhog(arg);
  if (str_eq(line, "cat")) return cmd_cat(arg);
  if (str_eq(line, "fill")) return cmd_fill(arg);
  if (str_eq(line, "check")) return cmd_check();
  if (str_eq(line, "ls")) return cmd_ls(arg);
  if (str_eq(line, "unbind") || str_eq(line, "bind")) return cmd_driver(line);
  if (str_eq(line, "dmesg-check")) {
    long bad = each_log_line(bad_line, 0);
    return bad == 0 ? say("ok\n") : fail("the kernel log has errors", 0);
  }
  if (str_eq(line, "dmesg-count")) {
    say_num(each_log_line(has_text, arg)), say("\n");
    return say("ok\n");
  }
  if (str_eq(line, "poweroff")) {
    say("ok\n");
    sys(SYS_sync, 0, 0, 0);
    sys6(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc /* POWER_OFF */, 0, 0, 0);
  }
  fail("unknown command ", line);
}

void init_main(void) {
  sys6(SYS_mount, (long)"proc", (long)"/proc", (long)"proc", 0, 0, 0);
  sys6(SYS_mount, (long)"sysfs", (long)"/sys", (long)"sysfs", 0, 0, 0);
  sys6(SYS_mount, (long)"devtmpfs", (long)"/dev", (long)"devtmpfs", 0, 0, 0);
  // No echo on the console (struct termios: c_lflag at offset 12, ECHO 010).
  static unsigned char termios[60];
  if (sys(SYS_ioctl, 0, 0x5401 /* TCGETS */, termios) == 0) {
    termios[12] &= (unsigned char)~010;
    sys(SYS_ioctl, 0, 0x5402 /* TCSETS */, termios);
  }
  // Huge pages for anonymous memory (Linux turns them off below 512 MiB of
  // RAM): a guest page fault costs ~2 ms of emulated ring-0 code here, and
  // memhog touches memory 4x faster this way (measured).
  write_file("/sys/kernel/mm/transparent_hugepage/enabled", "always");
  static char uts[390];  // struct utsname: 6 fields of 65 bytes.
  sys(SYS_uname, uts, 0, 0);
  char dev[64];
  say("BLIMP-GUEST-READY "), say(uts + 2 * 65), say(" balloon=");
  say(balloon_dev(dev, sizeof(dev)) == 0 ? dev : "none"), say("\n");
  static char line[512];
  while (read_line(line, sizeof(line))) serve(line);
  sys6(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, 0, 0, 0);
}
DEFINE_START(init_main);

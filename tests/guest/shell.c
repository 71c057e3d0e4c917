/* The ring-3 shell: one command per line on the serial console. Every
 * command prints its output lines, then exactly one line "ok" or
 * "error: <reason>". No echo and no prompt unless blimp.echo=1. With no
 * input it blocks in the kernel until the UART interrupt (never polls). */
#include "user.h"

#define LINE_MAX 256
#define MAX_ARGS 8

/* Pages kept by `touch`, linked through their own first word. */
static uint64_t touched_head, touched_pages;
uint64_t touch_oom_failures;

#define CHUNK_PAGES 4096  /* the balloon driver runs between chunks of touch */

static int arg_mib(int argc, char **argv, uint64_t *mib) {
  return argc == 2 && parse_u64(argv[1], mib) && *mib <= (1ull << 20);
}

static int cmd_mem(int argc, char **argv) {
  (void)argc, (void)argv;
  kprintf("mem: total_pages=%lu free_pages=%lu used_pages=%lu\n", pages_total(), pages_free(), pages_used());
  return 0;
}

static int cmd_touch(int argc, char **argv) {
  uint64_t mib;
  if (!arg_mib(argc, argv, &mib)) return kprintf("error: usage: touch MIB\n"), 1;
  uint64_t n = mib * 256, head = touched_head;
  uint64_t t0 = rdtsc();
  for (uint64_t i = 0; i < n; i++) {
    if (i && i % CHUNK_PAGES == 0) balloon_poll(1);
    uint64_t pa = page_alloc();
    while (!pa && balloon_oom_release()) pa = page_alloc();  /* hinted pages, deflate-on-oom */
    if (!pa) {
      touch_oom_failures++;
      while (head != touched_head) {  /* roll this command back */
        uint64_t next = *(uint64_t *)head;
        page_free(head);
        head = next;
      }
      touched_head = head;
      touched_pages -= i;
      return kprintf("error: out of memory after %lu pages\n", i), 1;
    }
    *(volatile uint64_t *)pa = head;  /* the write that touches the page */
    head = pa;
    touched_pages++;
  }
  uint64_t t1 = rdtsc();
  touched_head = head;
  kprintf("touched: %lu MiB in %lu us\n", mib, tsc_to_us(t1 - t0));
  return 0;
}

static int cmd_free(int argc, char **argv) {
  uint64_t mib;
  if (!arg_mib(argc, argv, &mib)) return kprintf("error: usage: free MIB\n"), 1;
  uint64_t n = mib * 256;
  if (n > touched_pages) return kprintf("error: only %lu pages touched\n", touched_pages), 1;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t next = *(uint64_t *)touched_head;
    page_free(touched_head);
    touched_head = next;
  }
  touched_pages -= n;
  kprintf("freed: %lu MiB\n", mib);
  return 0;
}

/* A word of `seed`'s pattern for page `pa` at word `i` (never 0). */
static uint64_t pattern_word(uint64_t pa, uint64_t seed, uint64_t i) {
  return ((pa + i) ^ seed) * 0x9e3779b97f4a7c15ull | 1;
}

/* Words 1..511 of every touched page (word 0 links the list). */
static int cmd_fill(int argc, char **argv) {
  uint64_t seed;
  if (argc != 2 || !parse_u64(argv[1], &seed)) return kprintf("error: usage: fill SEED\n"), 1;
  for (uint64_t pa = touched_head; pa; pa = *(uint64_t *)pa) {
    for (uint64_t i = 1; i < 512; i++) ((volatile uint64_t *)pa)[i] = pattern_word(pa, seed, i);
  }
  kprintf("filled: %lu pages\n", touched_pages);
  return 0;
}

static int cmd_check(int argc, char **argv) {
  uint64_t seed, bad = 0, pages = 0;
  if (argc != 2 || !parse_u64(argv[1], &seed)) return kprintf("error: usage: check SEED\n"), 1;
  for (uint64_t pa = touched_head; pa && pages < touched_pages; pa = *(uint64_t *)pa, pages++) {
    for (uint64_t i = 1; i < 512; i++) {
      if (((volatile uint64_t *)pa)[i] != pattern_word(pa, seed, i)) {
        bad++;
        break;
      }
    }
  }
  if (bad) return kprintf("error: %lu of %lu pages do not hold the pattern\n", bad, pages), 1;
  kprintf("checked: %lu pages\n", pages);
  return 0;
}

static int cmd_sleep(int argc, char **argv) {
  uint64_t ms;
  if (argc != 2 || !parse_u64(argv[1], &ms) || ms > 86400000) return kprintf("error: usage: sleep MS\n"), 1;
  /* The balloon driver keeps working while we sleep. */
  uint64_t deadline = rdtsc() + ms * (tsc_hz / 1000);
  while (rdtsc() < deadline) {
    uint64_t seq = irq_seq, d = balloon_poll(1);
    sys_call(SYS_WAIT, seq, d && d < deadline ? d : deadline, 0);
  }
  return 0;
}

static int cmd_uptime(int argc, char **argv) {
  (void)argc, (void)argv;
  kprintf("uptime: %lu ms\n", now_us() / 1000);
  return 0;
}

static int cmd_echo(int argc, char **argv) {
  for (int i = 1; i < argc; i++) kprintf("%s%s", argv[i], i + 1 < argc ? " " : "");
  kprintf("\n");
  return 0;
}

static int cmd_cpus(int argc, char **argv) {
  (void)argc, (void)argv;
  kprintf("cpus: %u\n", cpus_online);
  return 0;
}

static int cmd_poweroff(int argc, char **argv) {
  (void)argc, (void)argv;
  if (!acpi.has_sleep_ctl) return kprintf("error: no ACPI sleep control register\n"), 1;
  kprintf("ok\n");
  power_off();
  sleep_ms(1000);
  return kprintf("error: poweroff did not take effect\n"), 2;
}

static int cmd_reboot(int argc, char **argv) {
  (void)argc, (void)argv;
  kprintf("ok\n");
  power_reboot();
  return 2;
}

static int cmd_help(int argc, char **argv);

struct command {
  const char *name, *args, *help;
  int (*fn)(int argc, char **argv);  /* 0: ok, 1: printed error, 2: printed all */
};

static const struct command commands[] = {
    {"mem", "", "page allocator counters (4 KiB pages)", cmd_mem},
    {"touch", "MIB", "allocate and write MIB MiB of pages, keep them", cmd_touch},
    {"free", "MIB", "free MIB MiB of touched pages", cmd_free},
    {"fill", "SEED", "write SEED's pattern into every touched page", cmd_fill},
    {"check", "SEED", "check every touched page holds SEED's pattern", cmd_check},
    {"sleep", "MS", "sleep MS milliseconds", cmd_sleep},
    {"uptime", "", "milliseconds since boot", cmd_uptime},
    {"echo", "TEXT", "print TEXT", cmd_echo},
    {"cpus", "", "CPUs online", cmd_cpus},
    {"poweroff", "", "ACPI power off", cmd_poweroff},
    {"reboot", "", "reset the machine", cmd_reboot},
    {"balloon", "", "virtio balloon driver state", cmd_balloon},
    {"hostile", "CASE", "send a deliberately broken request to the balloon device", cmd_hostile},
    {"help", "", "this list", cmd_help},
};

static int cmd_help(int argc, char **argv) {
  (void)argc, (void)argv;
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    kprintf("%s %s - %s\n", commands[i].name, commands[i].args, commands[i].help);
  return 0;
}

static void run_line(char *line) {
  char *argv[MAX_ARGS];
  int argc = 0;
  for (char *p = line; *p;) {
    while (*p == ' ' || *p == '\t') *p++ = 0;
    if (!*p) break;
    if (argc == MAX_ARGS) {
      kprintf("error: too many arguments\n");
      return;
    }
    argv[argc++] = p;
    while (*p && *p != ' ' && *p != '\t') p++;
  }
  if (!argc) return;
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    if (strcmp(argv[0], commands[i].name)) continue;
    if (commands[i].fn(argc, argv) == 0) kprintf("ok\n");
    return;
  }
  kprintf("error: unknown command '%s'\n", argv[0]);
}

void shell_run(void) {
  static char line[LINE_MAX + 1];
  size_t len = 0;
  int overflow = 0, echo = uart_crlf;
  if (echo) kprintf("> ");
  for (;;) {
    uint64_t seq = irq_seq;  /* read before polling: no lost wake-up */
    int c;
    while ((c = uart_getc()) >= 0) {
      if (c == '\r' || c == '\n') {
        if (echo) kprintf("\n");
        line[len] = 0;
        if (overflow) kprintf("error: line too long\n");
        else run_line(line);
        len = 0;
        overflow = 0;
        if (echo) kprintf("> ");
      } else if (c == 0x7f || c == 0x08) {
        if (len) {
          len--;
          if (echo) kprintf("\b \b");
        }
      } else if (len < LINE_MAX) {
        line[len++] = (char)c;
        if (echo) uart_putc((char)c);
      } else {
        overflow = 1;
      }
    }
    balloon_flush_messages();  /* held back while a command ran */
    uint64_t deadline = balloon_poll(0);
    sys_call(SYS_WAIT, seq, deadline, 0);
  }
}

// memhog MIB [SECONDS]: maps MIB MiB of anonymous memory, writes one byte
// per 4 KiB page so the guest really backs them, prints "memhog: touched
// MIB MiB", then holds the memory for SECONDS (default: until killed).
// It maps 2 MiB at a time, each aligned for a huge page: one big mapping
// is refused outright by Linux's overcommit check once a balloon has shrunk
// the guest's total RAM, and the tests need the OOM killer to act instead.
#include "sys.h"

void memhog_main(long argc, char** argv) {
  long mib = argc > 1 ? parse_num(argv[1]) : -1;
  long seconds = argc > 2 ? parse_num(argv[2]) : -1;
  if (mib <= 0) {
    say("usage: memhog MIB [SECONDS]\n");
    sys(SYS_exit, 2, 0, 0);
  }
  for (long done = 0; done < mib << 20; done += 2 << 20) {
    long size = (mib << 20) - done < (2 << 20) ? (mib << 20) - done : 2 << 20;
    // PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS; twice the size, so
    // that an aligned 2 MiB lies inside (the rest is never touched).
    long p = sys6(SYS_mmap, 0, 4 << 20, 3, 0x22, -1, 0);
    if (p < 0 && p > -4096) {
      say("memhog: cannot map the memory\n");
      sys(SYS_exit, 1, 0, 0);
    }
    p = (p + (2 << 20) - 1) & ~((2l << 20) - 1);
    for (long off = 0; off < size; off += 4096) ((volatile char*)p)[off] = (char)(off >> 12) | 1;
  }
  say("memhog: touched ");
  say(argv[1]);
  say(" MiB\n");
  if (seconds < 0) {
    for (;;) sys(SYS_pause, 0, 0, 0);
  }
  long ts[2] = {seconds, 0};
  sys(SYS_nanosleep, ts, 0, 0);
  sys(SYS_exit, 0, 0, 0);
}
DEFINE_START(memhog_main);

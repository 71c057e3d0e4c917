// memhog N [SECONDS]: allocates N MiB, writes one byte per 4 KiB page so the
// guest really backs them, prints "memhog: touched N MiB", then holds the
// memory for SECONDS (default: until killed) so a balloon test can watch
// the guest's memory pressure. Static, no libc beyond the basics.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: memhog MIB [SECONDS]\n");
    return 2;
  }
  long mib = strtol(argv[1], NULL, 10);
  long seconds = argc > 2 ? strtol(argv[2], NULL, 10) : -1;
  if (mib <= 0) {
    fprintf(stderr, "memhog: bad size %s\n", argv[1]);
    return 2;
  }
  size_t bytes = (size_t)mib << 20;
  volatile char* p = malloc(bytes);
  if (p == NULL) {
    printf("memhog: cannot allocate %ld MiB\n", mib);
    return 1;
  }
  for (size_t i = 0; i < bytes; i += 4096) p[i] = (char)(i >> 12) | 1;
  printf("memhog: touched %ld MiB\n", mib);
  fflush(stdout);
  if (seconds < 0) {
    for (;;) pause();
  }
  sleep((unsigned)seconds);
  return 0;
}

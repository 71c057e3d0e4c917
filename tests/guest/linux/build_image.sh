#!/usr/bin/env bash
# Builds the Blimp Linux guest into OUTDIR (default build/guest-linux):
#   vmlinux, bzImage the kernel (build_kernel.sh: Debian's linux-source-6.1,
#                    tinyconfig + kernel.config + pvm-syscall-fault.patch)
#   initramfs.cpio   uncompressed: /init (init.c: the command loop the tests
#                    drive over the console) and /bin/memhog (memhog.c),
#                    written by make_initramfs.py without root
#   init, memhog     those two programs
#   kernel-version   the kernel's release string
# Idempotent and cached: the kernel by a hash of its inputs (a second run
# costs nothing), the rest rebuilt only when its inputs change.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-$root/build/guest-linux}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
log() { echo "build_image: $*" >&2; }

bash "$here/build_kernel.sh" "$out"
strings "$out/vmlinux" | sed -n 's/^Linux version \([^ ]*\) .*/\1/p' | head -n1 > "$out/kernel-version"

# The guest's two programs are freestanding (sys.h: raw system calls, no
# libc), a few KiB each: the kernel unpacks the initramfs in emulated ring 0.
cflags=(-static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie -Os
        -Wall -Wextra -Werror)
for prog in init memhog; do
  if [ ! -f "$out/$prog" ] || [ "$here/$prog.c" -nt "$out/$prog" ] || [ "$here/sys.h" -nt "$out/$prog" ]; then
    gcc "${cflags[@]}" -o "$out/$prog.tmp" "$here/$prog.c" && mv "$out/$prog.tmp" "$out/$prog"
  fi
done

stamp=$(sha256sum "$out/init" "$out/memhog" "$here/make_initramfs.py" | sha256sum | cut -c1-16)
if [ ! -f "$out/initramfs.cpio" ] || [ "$(cat "$out/.initramfs-stamp" 2>/dev/null)" != "$stamp" ]; then
  python3 "$here/make_initramfs.py" "$out/initramfs.cpio.tmp" dir:bin dir:dev dir:proc dir:sys \
    char:dev/console=5:1:0600 file:init="$out/init":755 file:bin/memhog="$out/memhog":755
  mv "$out/initramfs.cpio.tmp" "$out/initramfs.cpio"
  echo "$stamp" > "$out/.initramfs-stamp"
fi
log "ready in $out (kernel $(cat "$out/kernel-version"))"

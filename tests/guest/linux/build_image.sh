#!/usr/bin/env bash
# Builds the Blimp Linux guest into OUTDIR (default build/guest-linux):
#   vmlinux, bzImage the kernel (build_kernel.sh: Debian's linux-source-6.1,
#                    tinyconfig + kernel.config + pvm-syscall-fault.patch)
#   initramfs.cpio   uncompressed: static busybox (Debian's busybox-static,
#                    apt-get download, never installed), memhog, /init
#                    (init.sh), written by make_initramfs.py without root
#   memhog           static helper: allocates and touches N MiB
#   kernel-version   the kernel's release string
# Idempotent and cached: the kernel by a hash of its inputs (a second run
# costs nothing), the rest rebuilt only when its inputs change.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-$root/build/guest-linux}"
mkdir -p "$out/debs"
out="$(cd "$out" && pwd)"
log() { echo "build_image: $*" >&2; }

bash "$here/build_kernel.sh" "$out"
strings "$out/vmlinux" | sed -n 's/^Linux version \([^ ]*\) .*/\1/p' | head -n1 > "$out/kernel-version"

busybox_deb=$(ls "$out"/debs/busybox-static_*.deb 2>/dev/null | head -n1 || true)
if [ -z "$busybox_deb" ]; then
  log "downloading busybox-static"
  (cd "$out/debs" && apt-get download -q busybox-static >&2)
  busybox_deb=$(ls "$out"/debs/busybox-static_*.deb | head -n1)
fi
busybox="$out/busybox"
if [ ! -f "$busybox" ]; then
  dpkg-deb --fsys-tarfile "$busybox_deb" | tar -xO ./bin/busybox > "$busybox.tmp"
  chmod 755 "$busybox.tmp" && mv "$busybox.tmp" "$busybox"
fi

if [ ! -f "$out/memhog" ] || [ "$here/memhog.c" -nt "$out/memhog" ]; then
  gcc -static -O2 -Wall -Wextra -Werror -o "$out/memhog" "$here/memhog.c"
fi

stamp=$(sha256sum "$busybox" "$out/memhog" "$here/init.sh" "$here/make_initramfs.py" | sha256sum | cut -c1-16)
if [ ! -f "$out/initramfs.cpio" ] || [ "$(cat "$out/.initramfs-stamp" 2>/dev/null)" != "$stamp" ]; then
  entries=(dir:bin dir:dev dir:proc dir:sys dir:tmp char:dev/console=5:1:0600
           file:bin/busybox="$busybox":755 file:bin/memhog="$out/memhog":755
           file:init="$here/init.sh":755)
  # Only the applets init.sh and the tests use: the kernel unpacks each
  # entry in emulated ring 0, and busybox has ~400.
  for app in sh mount stty sed grep cat rm sleep kill basename uname dmesg head tr \
             sync poweroff echo ls free; do
    entries+=("link:bin/$app=busybox")
  done
  python3 "$here/make_initramfs.py" "$out/initramfs.cpio.tmp" "${entries[@]}"
  mv "$out/initramfs.cpio.tmp" "$out/initramfs.cpio"
  echo "$stamp" > "$out/.initramfs-stamp"
fi
log "ready in $out (kernel $(cat "$out/kernel-version"))"

#!/usr/bin/env bash
# Builds the real-Linux guest files from Debian's own packages:
#   OUTDIR/vmlinuz         Debian's cloud kernel (a bzImage)
#   OUTDIR/vmlinux         the same kernel as an uncompressed ELF
#   OUTDIR/initramfs.cpio.gz  busybox /init: mounts proc/sys/dev, loads the
#                          virtio-mmio + virtio_balloon modules, prints
#                          BLIMP-GUEST-READY, runs a shell on the console
#   OUTDIR/memhog          static helper: allocates and touches N MiB
#   OUTDIR/kernel-version  the kernel's release string
# Usage: tests/guest/linux/build_image.sh [OUTDIR]   (default build/guest-linux)
# Idempotent: downloads (apt-get download, never installed into the host)
# are kept under OUTDIR/debs and skipped when present; outputs are rebuilt
# only when missing. Needs: apt-get, dpkg-deb, python3, gcc, cpio, gzip,
# xz-utils, zstd (scripts/setup.sh installs them).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-$root/build/guest-linux}"
mkdir -p "$out/debs"
out="$(cd "$out" && pwd)"

log() { echo "build_image: $*" >&2; }

# 1. Resolve linux-image-cloud-amd64 to its versioned kernel package.
resolve_kernel_pkg() {
  apt-cache depends linux-image-cloud-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n1
}

fetch() {  # fetch PACKAGE: the .deb under $out/debs (downloaded once)
  local pkg="$1" deb
  deb=$(ls "$out/debs/${pkg}"_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    log "downloading $pkg"
    (cd "$out/debs" && apt-get download -q "$pkg" >&2)
    deb=$(ls "$out/debs/${pkg}"_*.deb | head -n1)
  fi
  echo "$deb"
}

kernel_deb=$(ls "$out"/debs/linux-image-[0-9]*-cloud-amd64_*.deb 2>/dev/null | head -n1 || true)
if [ -z "$kernel_deb" ]; then
  kpkg=$(resolve_kernel_pkg)
  if [ -z "$kpkg" ]; then  # A fresh machine may have no package lists yet.
    sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -q >&2 || true
    kpkg=$(resolve_kernel_pkg)
  fi
  if [ -z "$kpkg" ]; then
    log "cannot resolve linux-image-cloud-amd64 (apt-get update?)"; exit 1
  fi
  kernel_deb=$(fetch "$kpkg")
fi
busybox_deb=$(fetch busybox-static)

# 2. Unpack (never installed into the host).
if [ ! -f "$out/.unpacked-$(basename "$kernel_deb")" ]; then
  rm -rf "$out/kernel-root" && mkdir -p "$out/kernel-root"
  dpkg-deb -x "$kernel_deb" "$out/kernel-root"
  touch "$out/.unpacked-$(basename "$kernel_deb")"
fi
if [ ! -f "$out/.unpacked-$(basename "$busybox_deb")" ]; then
  rm -rf "$out/busybox-root" && mkdir -p "$out/busybox-root"
  dpkg-deb -x "$busybox_deb" "$out/busybox-root"
  touch "$out/.unpacked-$(basename "$busybox_deb")"
fi

kver=$(ls "$out/kernel-root/lib/modules" | head -n1)
echo "$kver" > "$out/kernel-version"

# 3. vmlinuz (bzImage) and vmlinux (ELF, extracted from its payload).
if [ ! -f "$out/vmlinuz" ]; then
  cp "$out/kernel-root/boot/vmlinuz-$kver" "$out/vmlinuz.tmp" && mv "$out/vmlinuz.tmp" "$out/vmlinuz"
fi
if [ ! -f "$out/vmlinux" ]; then
  python3 "$here/extract_vmlinux.py" "$out/vmlinuz" "$out/vmlinux.tmp"
  mv "$out/vmlinux.tmp" "$out/vmlinux"
fi

# 4. memhog.
if [ ! -f "$out/memhog" ] || [ "$here/memhog.c" -nt "$out/memhog" ]; then
  gcc -static -O2 -Wall -Wextra -Werror -o "$out/memhog" "$here/memhog.c"
fi

# 5. The initramfs.
stamp="$kver $(sha256sum "$here/init.sh" "$here/build_image.sh" "$here/modules.py" | sha256sum | cut -c1-16)"
if [ ! -f "$out/initramfs.cpio.gz" ] || [ "$(cat "$out/.initramfs-stamp" 2>/dev/null)" != "$stamp" ]; then
  rootfs="$out/rootfs"
  rm -rf "$rootfs"
  mkdir -p "$rootfs"/{bin,sbin,proc,sys,dev,tmp,lib/modules,usr/bin}
  cp "$out/busybox-root/bin/busybox" "$rootfs/bin/busybox"
  for app in sh mount insmod echo cat ls free mkdir uname sleep poweroff reboot dmesg \
             grep head tail ps kill sync mdev; do
    ln -sf busybox "$rootfs/bin/$app"
  done
  cp "$out/memhog" "$rootfs/bin/memhog"
  # Modules in load order (dependencies first), decompressed.
  python3 "$here/modules.py" "$out/kernel-root/lib/modules/$kver" "$rootfs/lib/modules" \
    virtio virtio_ring virtio_mmio virtio_balloon > "$rootfs/lib/modules/order"
  cp "$here/init.sh" "$rootfs/init"
  chmod 755 "$rootfs/init"
  mknod -m 600 "$rootfs/dev/console" c 5 1 2>/dev/null || true
  (cd "$rootfs" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -9 > "$out/initramfs.cpio.gz.tmp"
  mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
  echo "$stamp" > "$out/.initramfs-stamp"
fi

log "ready in $out (kernel $kver, modules: $(tr '\n' ' ' < "$out/rootfs/lib/modules/order"))"

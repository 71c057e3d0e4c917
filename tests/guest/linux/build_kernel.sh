#!/usr/bin/env bash
# Builds the Blimp Linux guest kernel from Debian's own kernel source:
#   apt-get download linux-source-6.1  ->  make tinyconfig
#   + kernel.config (every option with its reason)
#   + pvm-syscall-fault.patch (the one PVM workaround, inert on hardware)
#   ->  OUTDIR/vmlinux   the uncompressed ELF (with a PVH note) that
#                        blimp-vmm and QEMU boot
#       OUTDIR/bzImage   the same kernel as a bzImage (loader tests)
#       OUTDIR/kernel-config  the full .config it was built with
#
# Usage: build_kernel.sh OUTDIR
# Cached by a hash of every input (this script, the fragment, the patch, the
# source package's version): a second run with the same inputs copies the
# cached files and costs nothing. Cache: $BLIMP_CACHE (default
# ~/.cache/blimp). Needs make, gcc, flex, bison, bc, libelf-dev
# (scripts/setup.sh installs them).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build_kernel.sh OUTDIR}"
cache="${BLIMP_CACHE:-$HOME/.cache/blimp}/guest-kernel"
mkdir -p "$cache/debs"
log() { echo "build_kernel: $*" >&2; }

source_version() {
  apt-cache policy linux-source-6.1 2>/dev/null | sed -n 's/^ *Candidate: \(.*\)$/\1/p'
}
version=$(source_version)
if [ -z "$version" ] || [ "$version" = "(none)" ]; then  # no package lists yet
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q >&2 || true
  version=$(source_version)
fi
[ -n "$version" ] && [ "$version" != "(none)" ] || { log "linux-source-6.1 not in apt"; exit 1; }

hash=$( (echo "$version"; cat "$here/build_kernel.sh" "$here/kernel.config" \
          "$here/pvm-syscall-fault.patch") | sha256sum | cut -c1-16)
cached="$cache/kernel-$hash"
install_outputs() {
  mkdir -p "$out"
  for f in vmlinux bzImage kernel-config; do
    cp "$cached/$f" "$out/$f.tmp" && mv "$out/$f.tmp" "$out/$f"
  done
}
if [ -f "$cached/done" ]; then
  install_outputs
  log "cached kernel $hash (linux-source-6.1 $version)"
  exit 0
fi

deb="$cache/debs/linux-source-6.1_${version}_all.deb"
if [ ! -f "$deb" ]; then
  log "downloading linux-source-6.1 $version"
  rm -f "$cache"/debs/linux-source-6.1_*.deb
  (cd "$cache/debs" && apt-get download -q "linux-source-6.1=$version" >&2)
fi

work="$cache/work-$hash"
rm -rf "$cache"/work-* && mkdir -p "$work"  # and earlier, interrupted builds
log "unpacking $(basename "$deb")"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" ./usr/src/linux-source-6.1.tar.xz
tar -xJf "$work/usr/src/linux-source-6.1.tar.xz" -C "$work"
src="$work/linux-source-6.1"
patch -d "$src" -p1 --forward --quiet < "$here/pvm-syscall-fault.patch"

make -C "$src" -s ARCH=x86_64 tinyconfig >&2
(cd "$src" && scripts/kconfig/merge_config.sh -m .config "$here/kernel.config" >/dev/null)
make -C "$src" -s ARCH=x86_64 olddefconfig >&2

# Every option the fragment asks for must have survived olddefconfig (a
# dependency the fragment misses would silently drop it).
missing=0
while IFS= read -r line; do
  case "$line" in
    CONFIG_*=*) want="$line" ;;
    "# CONFIG_"*" is not set") want="$line" ;;
    *) continue ;;
  esac
  name=$(sed -E 's/^(# )?(CONFIG_[A-Za-z0-9_]+).*/\2/' <<<"$want")
  if [[ "$want" == "# "* ]]; then
    grep -q "^$name=" "$src/.config" && { log "$name is set but the fragment unsets it"; missing=1; }
  else
    grep -qx "$want" "$src/.config" || { log "$want did not take: $(grep "$name[= ]" "$src/.config" || echo absent)"; missing=1; }
  fi
done < "$here/kernel.config"
[ "$missing" -eq 0 ] || { log "the config fragment does not apply cleanly"; exit 1; }

log "building vmlinux and bzImage ($(nproc) jobs; a few minutes)"
start=$(date +%s)
make -C "$src" -s ARCH=x86_64 -j"$(nproc)" vmlinux bzImage >&2
log "built in $(( $(date +%s) - start )) s"
rm -rf "$cached" && mkdir -p "$cached"
cp "$src/vmlinux" "$cached/vmlinux"
cp "$src/arch/x86/boot/bzImage" "$cached/bzImage"
cp "$src/.config" "$cached/kernel-config"
touch "$cached/done"
rm -rf "$work"
install_outputs
log "kernel $hash ready"

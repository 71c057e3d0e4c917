#!/usr/bin/env bash
# Builds blimp_<version>_amd64.deb: blimpd, blimp-vmm, blimpctl,
# blimp-autoballoon, the systemd units, /etc/default/blimp, man pages and
# docs. The version is the top entry of packaging/changelog; Depends comes
# from dpkg-shlibdeps on the built binaries.
#
#   packaging/build_deb.sh [OUT_DIR] [BAZEL_FLAGS...]   (OUT_DIR: build/deb)
#   packaging/build_deb.sh build/deb -c opt              optimized release build
#
# Prints the path of the .deb on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022

out_dir=${1:-build/deb}
shift || true
bazel_flags=("$@")
here=packaging

bazel build "${bazel_flags[@]}" //:blimpd //:blimp-vmm //:blimpctl //:blimp-autoballoon >&2
bin=$(bazel info "${bazel_flags[@]}" bazel-bin 2>/dev/null)

version=$(dpkg-parsechangelog -l "$here/changelog" -S Version)
maintainer=$(dpkg-parsechangelog -l "$here/changelog" -S Maintainer)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root/DEBIAN"
chmod 0755 "$root"

# Binaries, stripped as dh_strip does. blimp-vmm is not for users to run
# (blimpd starts it), so it goes to /usr/lib/blimp; the units pass
# --vmm-binary, since blimpd's default (../vmm/blimp-vmm) suits bazel-bin.
put_binary() {  # BAZEL_PATH DEST
  install -D -m 0755 "$bin/$1" "$root/$2"
  strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/$2"
}
put_binary daemon/blimpd usr/bin/blimpd
put_binary client/blimpctl usr/bin/blimpctl
put_binary client/blimp-autoballoon usr/bin/blimp-autoballoon
put_binary vmm/blimp-vmm usr/lib/blimp/blimp-vmm

# Bookworm's units live in /lib/systemd/system (debhelper puts them there).
install -D -m 0644 "$here/blimp.service" "$root/lib/systemd/system/blimp.service"
install -D -m 0644 "$here/blimp-autoballoon.service" \
  "$root/lib/systemd/system/blimp-autoballoon.service"
install -D -m 0644 "$here/default-blimp" "$root/etc/default/blimp"
install -D -m 0644 client/blimpctl.bash-completion \
  "$root/usr/share/bash-completion/completions/blimpctl"
echo /etc/default/blimp > "$root/DEBIAN/conffiles"

doc="$root/usr/share/doc/blimp"
install -D -m 0644 "$here/copyright" "$doc/copyright"
gzip -9n < "$here/changelog" > "$doc/changelog.Debian.gz"
install -m 0644 README.md "$doc/README.md"
install -m 0644 daemon/README.md "$doc/blimpd.md"
install -m 0644 client/README.md "$doc/clients.md"
for page in "$here"/man/*.[18]; do
  section=${page##*.}
  mkdir -p "$root/usr/share/man/man$section"
  gzip -9n < "$page" > "$root/usr/share/man/man$section/$(basename "$page").gz"
done
install -D -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/blimp"
find "$root" -path "$root/DEBIAN" -prune -o -type f -exec chmod go-w {} +
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
  xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

# dpkg-shlibdeps wants a source tree with debian/control; a minimal one.
mkdir -p "$work/src/debian"
printf 'Source: blimp\n\nPackage: blimp\nArchitecture: amd64\n' > "$work/src/debian/control"
depends=$(cd "$work/src" && dpkg-shlibdeps -O --warnings=1 \
  "$root/usr/bin/blimpd" "$root/usr/bin/blimpctl" "$root/usr/bin/blimp-autoballoon" \
  "$root/usr/lib/blimp/blimp-vmm" | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "build_deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@MAINTAINER@|$maintainer|" \
  -e "s|@SIZE@|$size|" -e "s|@DEPENDS@|$depends|" "$here/control" > "$root/DEBIAN/control"

mkdir -p "$out_dir"
deb="$out_dir/blimp_${version}_amd64.deb"
dpkg-deb --build --root-owner-group "$root" "$deb" >&2
echo "$deb"

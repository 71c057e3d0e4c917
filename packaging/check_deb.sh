#!/usr/bin/env bash
# Builds the .deb and checks it as an installer would meet it: its file list
# and modes, Depends, lintian (no error, no warning that is not overridden),
# systemd-analyze verify on the units inside the unpacked package (so their
# ExecStart binaries and man pages are the packaged ones), and the unpacked
# binaries: each starts, and blimpd with the unit's flags and the packaged
# /etc/default/blimp serves, spawns the packaged blimp-vmm for a VM, leaves
# it running on SIGUSR2 for the next blimpd to adopt, and stops it on SIGTERM.
# Last line: "deb: 1 passed, 0 failed" or "deb: 0 passed, 1 failed".
set -uo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
daemon_pid="" vmm_pid=""
# On a failure midway the VM's blimp-vmm outlives blimpd (as designed): end both.
cleanup() {
  [ -n "$daemon_pid" ] && kill -KILL "$daemon_pid" 2>/dev/null
  [ -n "$vmm_pid" ] && kill -KILL "$vmm_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "!!! deb: $* !!!" >&2; echo "deb: 0 passed, 1 failed"; exit 1; }

deb=$(bash packaging/build_deb.sh "$tmp/out" 2>"$tmp/build.log" | tail -n 1)
[ -f "$deb" ] || { cat "$tmp/build.log" >&2; fail "packaging/build_deb.sh made no .deb"; }

# The file list: exactly these files, the programs executable, all root's.
dpkg-deb -c "$deb" > "$tmp/contents" || fail "dpkg-deb -c $deb"
awk '$1 !~ /^d/ {print $1, $2, $6}' "$tmp/contents" | sort > "$tmp/files"
sort > "$tmp/want" <<'LIST'
-rw-r--r-- root/root ./etc/default/blimp
-rw-r--r-- root/root ./lib/systemd/system/blimp-autoballoon.service
-rw-r--r-- root/root ./lib/systemd/system/blimp.service
-rw-r--r-- root/root ./usr/share/bash-completion/completions/blimpctl
-rw-r--r-- root/root ./usr/share/doc/blimp/README.md
-rw-r--r-- root/root ./usr/share/doc/blimp/blimpd.md
-rw-r--r-- root/root ./usr/share/doc/blimp/changelog.Debian.gz
-rw-r--r-- root/root ./usr/share/doc/blimp/clients.md
-rw-r--r-- root/root ./usr/share/doc/blimp/copyright
-rw-r--r-- root/root ./usr/share/lintian/overrides/blimp
-rw-r--r-- root/root ./usr/share/man/man1/blimpctl.1.gz
-rw-r--r-- root/root ./usr/share/man/man8/blimp-autoballoon.8.gz
-rw-r--r-- root/root ./usr/share/man/man8/blimp-vmm.8.gz
-rw-r--r-- root/root ./usr/share/man/man8/blimpd.8.gz
-rwxr-xr-x root/root ./usr/bin/blimp-autoballoon
-rwxr-xr-x root/root ./usr/bin/blimpctl
-rwxr-xr-x root/root ./usr/bin/blimpd
-rwxr-xr-x root/root ./usr/lib/blimp/blimp-vmm
LIST
diff -u "$tmp/want" "$tmp/files" >&2 || fail "unexpected file list (- wanted, + in the .deb)"
[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" = /etc/default/blimp ] ||
  fail "conffiles is not /etc/default/blimp"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libseccomp2 libgrpc++1.51 libprotobuf32 libabsl20220623 libgoogle-glog0v6 libssl3 \
    libprometheus-cpp-core1.0; do
  grep -q "\b$lib\b" <<<"$depends" || fail "Depends lacks $lib: $depends"
done

# lintian: errors and warnings fail (the package overrides what it must).
lintian --fail-on error,warning "$deb" > "$tmp/lintian" 2>&1 || {
  cat "$tmp/lintian" >&2; fail "lintian"; }
grep -E '^[EW]: ' "$tmp/lintian" >&2 && fail "lintian reported an error or a warning"

# Unpack as dpkg would install it. systemd-analyze needs the standard targets
# the units order against; they come from the host's systemd.
root="$tmp/root"
dpkg -x "$deb" "$root" || fail "dpkg -x"
units="$root/lib/systemd/system"
cp -n /lib/systemd/system/*.target "$units/"
# verify only warns (exit 0) about unknown keys: any output fails too.
MANPATH="$root/usr/share/man" systemd-analyze verify --root="$root" \
  /lib/systemd/system/blimp.service /lib/systemd/system/blimp-autoballoon.service \
  > "$tmp/verify" 2>&1
verify_status=$?
if [ $verify_status -ne 0 ] || [ -s "$tmp/verify" ]; then
  cat "$tmp/verify" >&2; fail "systemd-analyze verify (exit $verify_status)"
fi
grep -q '^ExecStart=/usr/bin/blimpd --run-dir /run/blimp --vmm-binary /usr/lib/blimp/blimp-vmm ' \
  "$units/blimp.service" || fail "blimp.service does not start the packaged blimp-vmm"

# Each program starts (its libraries resolve) and knows who it is.
check_help() {  # PROGRAM EXPECTED_TEXT
  timeout 10 "$root/$1" --help > "$tmp/help" 2>&1
  grep -q "$2" "$tmp/help" || { cat "$tmp/help" >&2; fail "$1 --help lacks '$2'"; }
}
check_help usr/bin/blimpd "Hosts microVMs"
check_help usr/lib/blimp/blimp-vmm "Runs one microVM"
check_help usr/bin/blimpctl "Commands:"
check_help usr/bin/blimp-autoballoon "budget-mib"

if [ "$(id -u)" -ne 0 ]; then
  echo "deb: blimpd is not started (needs root for its jails); the package checks passed" >&2
  echo "deb: 1 passed, 0 failed"
  exit 0
fi

# blimpd as the unit runs it (a scratch run dir), with the packaged defaults.
# shellcheck disable=SC1091
. "$root/etc/default/blimp"
run="$tmp/run"
start_blimpd() {
  # shellcheck disable=SC2086  # BLIMPD_FLAGS is a list of flags, as in the unit.
  "$root/usr/bin/blimpd" --run-dir "$run" --vmm-binary "$root/usr/lib/blimp/blimp-vmm" \
    $BLIMPD_FLAGS >> "$tmp/blimpd.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 100); do
    [ -S "$run/blimp.grpc.sock" ] && return 0
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$tmp/blimpd.log" >&2; fail "the packaged blimpd did not serve"
}
stop_blimpd() {  # SIGNAL
  kill "-$1" "$daemon_pid"
  local status=0
  timeout 20 tail --pid="$daemon_pid" -f /dev/null || fail "blimpd did not exit on SIG$1"
  wait "$daemon_pid" || status=$?
  daemon_pid=""
  [ $status -eq 0 ] || { cat "$tmp/blimpd.log" >&2; fail "blimpd exited $status on SIG$1"; }
}
ctl() { timeout 20 "$root/usr/bin/blimpctl" --server "unix:$run/blimp.grpc.sock" "$@"; }

printf 'not a kernel: the VM is only created\n' > "$tmp/kernel"
chmod 0755 "$tmp"; chmod 0644 "$tmp/kernel"
start_blimpd
ctl vm create t --kernel "$tmp/kernel" --mem-mib 64 > /dev/null || fail "vm create with the packaged blimp-vmm"
vmm_pid=$(ctl vm get t --output json | sed -n 's/.*"vmm_pid": *\([0-9]*\).*/\1/p')
[ -n "$vmm_pid" ] && grep -q blimp-vmm "/proc/$vmm_pid/cmdline" ||
  fail "vm t has no packaged blimp-vmm process (pid '$vmm_pid')"
stop_blimpd USR2
kill -0 "$vmm_pid" 2>/dev/null || fail "SIGUSR2 took VM t's blimp-vmm with it"
start_blimpd
ctl vm list | grep -q '^t  *created' || { ctl vm list >&2; fail "the next blimpd did not adopt VM t"; }
stop_blimpd TERM
timeout 10 tail --pid="$vmm_pid" -f /dev/null || fail "SIGTERM left VM t's blimp-vmm running"
vmm_pid=""
echo "deb: 1 passed, 0 failed"

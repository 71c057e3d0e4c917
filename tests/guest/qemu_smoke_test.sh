#!/bin/bash
# Boots the Blimp test guest under QEMU (-M microvm, KVM, PVH entry) with
# 1 and 2 vCPUs and 64 and 512 MiB and drives its shell (qemu_smoke.py).
# Also boots it once through the Linux 64-bit entry on bare /dev/kvm
# (kvm_boot64.py), the path our VMM uses.
# Skips (exit 0, loudly) only when /dev/kvm or QEMU is missing.
set -euo pipefail

dir=$(dirname "$0")
elf=""
for c in "${TEST_SRCDIR:-}/${TEST_WORKSPACE:-blimp}/tests/guest/test_guest.elf" \
         "$dir/test_guest.elf" "$dir/../../bazel-bin/tests/guest/test_guest.elf"; do
  if [[ -f "$c" ]]; then elf=$c; break; fi
done
py=$dir/qemu_smoke.py
[[ -f "$py" ]] || py=${TEST_SRCDIR:-}/${TEST_WORKSPACE:-blimp}/tests/guest/qemu_smoke.py
boot64=$(dirname "$py")/kvm_boot64.py

if [[ ! -w /dev/kvm ]] || ! command -v qemu-system-x86_64 >/dev/null; then
  echo "*****************************************************************"
  echo "SKIPPED: qemu_smoke_test needs /dev/kvm and qemu-system-x86_64"
  echo "*****************************************************************"
  exit 0
fi
[[ -n "$elf" ]] || { echo "test_guest.elf not found"; exit 1; }

out=$(timeout 20 python3 "$boot64" "$elf" 128) || { echo "$out"; echo "FAIL: 64-bit entry"; exit 1; }
grep -q "^cmdline: console=ttyS0 foo=bar" <<<"$out" || { echo "$out"; echo "FAIL: 64-bit entry cmdline"; exit 1; }
echo "PASS 64-bit entry on bare KVM: $(tail -1 <<<"$out")"

for cpus in 1 2; do
  for mem in 64 512; do
    python3 "$py" "$elf" "$mem" "$cpus"
  done
done
echo "qemu_smoke_test: all passed"

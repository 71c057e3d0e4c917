#!/bin/bash
# Drives the test guest's virtio balloon driver under QEMU (-M microvm,
# acpi=off, virtio-mmio v2) through QMP: see qemu_balloon.py.
# Skips (exit 0, loudly) only when /dev/kvm or QEMU is missing.
set -euo pipefail

dir=$(dirname "$0")
elf=""
for c in "${TEST_SRCDIR:-}/${TEST_WORKSPACE:-blimp}/tests/guest/test_guest.elf" \
         "$dir/test_guest.elf" "$dir/../../bazel-bin/tests/guest/test_guest.elf"; do
  if [[ -f "$c" ]]; then elf=$c; break; fi
done
py=$dir/qemu_balloon.py
[[ -f "$py" ]] || py=${TEST_SRCDIR:-}/${TEST_WORKSPACE:-blimp}/tests/guest/qemu_balloon.py

if [[ ! -w /dev/kvm ]] || ! command -v qemu-system-x86_64 >/dev/null; then
  echo "*****************************************************************"
  echo "SKIPPED: qemu_balloon_test needs /dev/kvm and qemu-system-x86_64"
  echo "*****************************************************************"
  exit 0
fi
[[ -n "$elf" ]] || { echo "test_guest.elf not found"; exit 1; }
exec python3 "$py" "$elf"

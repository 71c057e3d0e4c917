#!/bin/bash
# Disassembles our DSDT, FADT and MADT with ACPICA's iasl (Debian package
# acpica-tools) and fails on any error or warning; recompiles the DSDT to
# check the disassembly is valid ASL; checks the virtio-mmio devices are
# there. Args: path to dump_acpi.
set -euo pipefail

dump_acpi="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
if ! command -v iasl >/dev/null; then
  echo "iasl not installed (Debian package acpica-tools)" >&2
  exit 1
fi
out="${TEST_TMPDIR:-$(mktemp -d)}/acpi"
mkdir -p "$out"
cd "$out"

check_log() {
  # iasl reports problems as "Error NNNN" / "Warning NNNN" lines, and some
  # errors only in its summary.
  if grep -Ei '(^|[^0-9] )(error|warning) +[0-9]{4}|[1-9][0-9]* (errors|warnings)|ACPI (error|warning)|invalid' "$1"; then
    echo "FAIL: iasl reported problems in $1:" >&2
    cat "$1" >&2
    exit 1
  fi
}

for config in "1 0" "4 3" "16 19"; do
  set -- $config
  rm -f ./*.dat ./*.dsl ./*.aml
  "$dump_acpi" "$out" "$1" "$2"
  for table in dsdt facp apic xsdt; do
    if ! iasl -d "$table.dat" >"$table.log" 2>&1; then
      echo "FAIL: iasl -d $table.dat failed (vcpus=$1 devices=$2)" >&2
      cat "$table.log" >&2
      exit 1
    fi
    check_log "$table.log"
  done
  if ! iasl -p recompiled dsdt.dsl >compile.log 2>&1; then
    echo "FAIL: disassembled DSDT does not compile" >&2
    cat compile.log dsdt.dsl >&2
    exit 1
  fi
  check_log compile.log
  grep -q '0 Errors, 0 Warnings' compile.log || { cat compile.log >&2; exit 1; }

  devices=$(grep -c 'Name (_HID, "LNRO0005")' dsdt.dsl || true)
  [[ "$devices" == "$2" ]] || { echo "FAIL: $devices LNRO0005 devices, want $2" >&2; exit 1; }
  grep -q 'EisaId ("PNP0501")' dsdt.dsl || { echo "FAIL: no COM1" >&2; exit 1; }
  grep -q 'Name (\\_S5, Package (0x04)' dsdt.dsl || { echo "FAIL: no \\_S5" >&2; exit 1; }
  lapics=$(grep -c 'Subtable Type : 00 \[Processor Local APIC\]' apic.dsl || true)
  [[ "$lapics" == "$1" ]] || { echo "FAIL: $lapics local APICs, want $1" >&2; exit 1; }
  grep -q 'Hardware Reduced (V5) : 1' facp.dsl || { echo "FAIL: FADT not HW-reduced" >&2; exit 1; }
  grep -q 'Address : 0000000000000600' facp.dsl || { echo "FAIL: no sleep control reg" >&2; exit 1; }
  grep -q 'Address : 0000000000000602' facp.dsl || { echo "FAIL: no reset reg" >&2; exit 1; }
done
echo PASS

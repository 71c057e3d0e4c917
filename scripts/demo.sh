#!/usr/bin/env bash
# Installs what is missing, builds Blimp and runs the demo.
#   scripts/demo.sh            the Blimp test guest (built by the project)
#   scripts/demo.sh --linux    the Blimp Linux guest (Linux's own balloon driver)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bazel build //daemon:blimpd //vmm:blimp-vmm //tests/guest:test_guest
exec bash scripts/demo_run.sh "$@"

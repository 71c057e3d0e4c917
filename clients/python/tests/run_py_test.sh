#!/usr/bin/env bash
# Runs one Python test file with Debian's /usr/bin/python3 (python3-grpcio,
# python3-protobuf), with clients/python/ of the runfiles (the package and the
# generated stubs), this folder (the test helpers) and examples/ on PYTHONPATH.
set -euo pipefail
root="$TEST_SRCDIR/$TEST_WORKSPACE/clients/python"
export PYTHONPATH="$root:$root/tests:$root/examples"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$root/tests/$1"

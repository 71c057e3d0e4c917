#!/usr/bin/env bash
# Runs one Python test file ($1, its path in the workspace, e.g. from
# $(rootpath ...)) with Debian's /usr/bin/python3 (python3-grpcio,
# python3-protobuf), with clients/python/ of the runfiles (the package and the
# generated stubs), its tests/ (the test helpers), examples/ and the test's
# own folder on PYTHONPATH.
set -euo pipefail
runfiles="$TEST_SRCDIR/$TEST_WORKSPACE"
root="$runfiles/clients/python"
export PYTHONPATH="$root:$root/tests:$root/examples:$runfiles/$(dirname "$1")"
export PYTHONDONTWRITEBYTECODE=1
# -P: not the folder the test file links to (the source tree): only runfiles.
exec /usr/bin/python3 -P "$runfiles/$1"

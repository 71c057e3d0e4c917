#!/usr/bin/env bash
# Runs every fuzz target briefly on its seed corpus (and every regression
# input in fuzz/corpus/<target>/): the smoke run of scripts/test.sh.
# Prints one line per target and "fuzz: N passed, N failed".
#   fuzz/smoke.sh [SECONDS]         default 10 s per target
# A longer hunt: fuzz/build.sh && build/fuzz/<target> -max_total_time=3600 \
#   -artifact_prefix=build/fuzz/ build/fuzz/<target>.corpus fuzz/corpus/<target>
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
bash fuzz/build.sh || { echo "fuzz: 0 passed, 1 failed (build)"; exit 1; }
passed=0 failed=0
for dir in fuzz/corpus/*/; do
  target=$(basename "$dir")
  work=$(mktemp -d)
  if build/fuzz/"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
       -artifact_prefix=build/fuzz/"$target"- "$work" "$dir" >"$work.log" 2>&1; then
    echo "fuzz: $target passed ($(grep -o 'Done [0-9]* runs' "$work.log" || echo 'ran'))"
    passed=$((passed + 1))
  else
    echo "fuzz: $target FAILED; see $work.log and build/fuzz/$target-*"
    tail -30 "$work.log"
    failed=$((failed + 1))
  fi
  rm -rf "$work"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

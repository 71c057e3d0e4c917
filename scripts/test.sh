#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test tier:
# unit tests, KVM tests with the test guest, end-to-end tests, and the Linux
# tier (the Blimp Linux guest with Linux's own virtio_balloon driver), the
# fuzz smoke, the clang build with its thread-safety analysis and the Debian
# package (packaging/check_deb.sh).
# Ends with one line: "N passed, N failed, N skipped"; non-zero on failure.
#
#   scripts/test.sh            all tiers
#   scripts/test.sh --asan     the same under AddressSanitizer + UBSan
set -uo pipefail
cd "$(dirname "$0")/.."

bazel_flags=()
for arg in "$@"; do
  case "$arg" in
    --asan) bazel_flags+=(--config=asan) ;;
    *) echo "usage: $0 [--asan]" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh || exit 1
# The Linux guest for tests/linux: kernel built from Debian's linux-source-6.1
# (a few minutes the first time, then cached by a hash of its inputs) and a
# tiny initramfs. Without them those tests fail, loudly.
linux_dir="$PWD/build/guest-linux"
bash tests/guest/linux/build_image.sh "$linux_dir" ||
  echo "!!! tests/guest/linux/build_image.sh failed: the tests/linux tests will FAIL !!!" >&2

if [ ! -c /dev/kvm ]; then
  echo "!!! /dev/kvm is missing: every KVM test will SKIP (they need real KVM) !!!" >&2
fi

bazel build "${bazel_flags[@]}" //... || { echo "0 passed, 1 failed, 0 skipped (build failed)"; exit 1; }
# Remove logs of earlier runs so only this run is counted.
rm -rf "$(bazel info "${bazel_flags[@]}" bazel-testlogs 2>/dev/null)"
bazel test "${bazel_flags[@]}" --test_env=BLIMP_LINUX_DIR="$linux_dir" //...
bazel_status=$?

# Fuzz smoke: every libFuzzer target for a few seconds on its corpus,
# regression inputs included (fuzz/README.md has the long run).
fuzz_log=$(mktemp)
bash fuzz/smoke.sh 10 2>&1 | tee "$fuzz_log" | grep '^fuzz:'
read -r fuzz_passed fuzz_failed < <(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$fuzz_log")
rm -f "$fuzz_log"

# Clang's thread-safety analysis (-Wthread-safety, see .bazelrc's
# build:clang): the ABSL_GUARDED_BY annotations gcc ignores. One counted step;
# its own output tree, so it does not disturb the gcc build above.
clang_passed=0 clang_failed=0 clang_start=$SECONDS
if bazel build --config=clang //...; then
  clang_passed=1; echo "clang: 1 passed, 0 failed ($((SECONDS - clang_start)) s)"
else
  clang_failed=1; echo "!!! clang: bazel build --config=clang //... failed (thread-safety analysis or a clang warning) !!!" >&2
fi

# The Debian package: built from the binaries above, its file list, lintian,
# systemd-analyze verify on its units, and the unpacked blimpd serving,
# leaving a VM to the next blimpd on SIGUSR2 (packaging/check_deb.sh). One
# counted step, like the clang build; it takes the default configuration.
deb_passed=0 deb_failed=1
if ((${#bazel_flags[@]} == 0)); then
  deb_log=$(mktemp)
  bash packaging/check_deb.sh 2>&1 | tee "$deb_log"
  read -r deb_passed deb_failed < <(sed -n 's/^deb: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$deb_log")
  rm -f "$deb_log"
else
  deb_failed=0; echo "deb: not built under ${bazel_flags[*]} (the package is built from the default configuration)"
fi

summary=$(python3 scripts/count_tests.py "$(bazel info "${bazel_flags[@]}" bazel-testlogs)")
count_status=$?
read -r passed failed skipped < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' <<<"$summary")
passed=$((passed + ${fuzz_passed:-0} + clang_passed + ${deb_passed:-0}))
failed=$((failed + ${fuzz_failed:-1} + clang_failed + ${deb_failed:-1}))
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if [ $bazel_status -ne 0 ] || [ $count_status -ne 0 ] || [ "$failed" -ne 0 ]; then exit 1; fi

#!/usr/bin/env bash
# The demo, once built (scripts/demo.sh builds first): boots the Blimp test
# guest under blimp-vmm, drives its balloon through Firecracker's REST API
# with curl (inflate, statistics, deflate) and powers it off.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d /tmp/blimp-demo.XXXXXX)
sock="$work/firecracker.socket"
console="$work/console.log"
vmm_pid=""
cleanup() {
  if [ -n "$vmm_pid" ] && kill -0 "$vmm_pid" 2>/dev/null; then kill "$vmm_pid"; wait "$vmm_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

api() {  # api METHOD PATH [BODY]
  curl -sS --unix-socket "$sock" -X "$1" "http://localhost$2" \
    -H 'Accept: application/json' -H 'Content-Type: application/json' ${3:+-d "$3"}
}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

wait_for_actual() {  # wait_for_actual MIB
  local deadline=$((SECONDS + 60)) stats actual
  while ((SECONDS < deadline)); do
    stats=$(api GET /balloon/statistics)
    actual=$(sed -n 's/.*"actual_mib":\([0-9]*\).*/\1/p' <<<"$stats")
    printf '\r  balloon actual: %4s MiB (target %s MiB)' "${actual:-?}" "$1"
    if [ "$actual" = "$1" ]; then echo; return 0; fi
    sleep 0.2
  done
  echo; echo "the guest did not reach $1 MiB in 60 s" >&2; return 1
}

say "Starting blimp-vmm with the Blimp test guest (512 MiB, 2 vCPUs, balloon with 1 s statistics)"
cat > "$work/vm.json" <<JSON
{
  "boot-source": {"kernel_image_path": "$PWD/bazel-bin/tests/guest/test_guest.elf",
                  "boot_args": "console=ttyS0"},
  "machine-config": {"vcpu_count": 2, "mem_size_mib": 512},
  "balloon": {"amount_mib": 0, "deflate_on_oom": true, "stats_polling_interval_s": 1}
}
JSON
start=$(date +%s%N)
bazel-bin/vmm/blimp-vmm --config-file "$work/vm.json" --api-sock "$sock" \
  </dev/null >"$console" 2>"$work/vmm.log" &
vmm_pid=$!
until grep -q BLIMP-GUEST-READY "$console" 2>/dev/null; do
  kill -0 "$vmm_pid" 2>/dev/null || { cat "$work/vmm.log"; exit 1; }
  sleep 0.01
done
echo "  guest ready in $(( ($(date +%s%N) - start) / 1000000 )) ms; VMM RSS $(( $(awk '{print $2}' /proc/$vmm_pid/statm) * 4 / 1024 )) MiB"
sed 's/^/  console| /' "$console"

say "GET / and GET /balloon"
api GET /; echo
api GET /balloon; echo

say "Inflate: PATCH /balloon {\"amount_mib\": 256}"
api PATCH /balloon '{"amount_mib": 256}'
wait_for_actual 256
echo "  VMM RSS now $(( $(awk '{print $2}' /proc/$vmm_pid/statm) * 4 / 1024 )) MiB"

say "GET /balloon/statistics"
sleep 1.2
api GET /balloon/statistics; echo

say "Deflate: PATCH /balloon {\"amount_mib\": 0}"
api PATCH /balloon '{"amount_mib": 0}'
wait_for_actual 0

say "Stop: PUT /actions {\"action_type\": \"SendCtrlAltDel\"}"
api PUT /actions '{"action_type": "SendCtrlAltDel"}'
wait "$vmm_pid" && echo "  blimp-vmm exited cleanly"
vmm_pid=""

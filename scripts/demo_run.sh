#!/usr/bin/env bash
# The demo, once built (scripts/demo.sh builds first): starts blimpd, boots
# two microVMs with the Blimp test guest, lists them, inflates one balloon
# with a live progress bar, shows its statistics, deflates it, and stops
# everything. Uses the REST API (Firecracker's balloon endpoints) with curl.
#   scripts/demo_run.sh            the Blimp test guest
#   scripts/demo_run.sh --linux    the Blimp Linux guest (Linux's own
#                                  virtio_balloon driver; ~30 s to boot here)
set -euo pipefail
cd "$(dirname "$0")/.."

linux=0
[ "${1:-}" = "--linux" ] && linux=1

run_dir=$(mktemp -d /tmp/blimp-demo.XXXXXX)
sock="$run_dir/blimp.sock"
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill "$daemon_pid"; wait "$daemon_pid" || true
  fi
  rm -rf "$run_dir"
}
trap cleanup EXIT

api() {  # api METHOD PATH [BODY]
  curl -sS --unix-socket "$sock" -X "$1" "http://localhost$2" \
    -H 'Accept: application/json' -H 'Content-Type: application/json' ${3:+-d "$3"}
}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
rss_mib() { echo $(( $(awk '{print $2}' "/proc/$1/statm") * 4 / 1024 )); }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

if ((linux)); then
  bash tests/guest/linux/build_image.sh build/guest-linux >/dev/null
  kernel="$PWD/build/guest-linux/vmlinux"
  initrd="$PWD/build/guest-linux/initramfs.cpio"
  # A user's plain command line: blimp-vmm adds what this host needs.
  boot="{\"kernel_image_path\": \"$kernel\", \"initrd_path\": \"$initrd\", \"boot_args\": \"console=ttyS0 reboot=k panic=1\"}"
  # Touching memory is slow in an emulated guest kernel: smaller sizes.
  mem=256 touch=96 inflate=96
  touch_cmds="hog $touch\nunhog\n" touch_done="ok\r\nok\r\n"  # The tty sends CRLF.
else
  boot="{\"kernel_image_path\": \"$PWD/bazel-bin/tests/guest/test_guest.elf\", \"boot_args\": \"console=ttyS0\"}"
  mem=512 touch=300 inflate=384
  touch_cmds="touch $touch\nfree $touch\n" touch_done="freed: $touch MiB"
fi

say "Starting blimpd (run dir $run_dir)"
bazel-bin/daemon/blimpd --run-dir "$run_dir" >"$run_dir/blimpd.log" 2>&1 &
daemon_pid=$!
until [ -S "$sock" ]; do sleep 0.01; done
echo "  blimpd pid $daemon_pid, REST on $sock"

start=$(date +%s%N)
for vm in web batch; do
  say "Creating and starting VM '$vm' ($mem MiB, 1 vCPU, balloon with 1 s statistics)"
  api PUT "/vms/$vm" "{\"boot-source\": $boot,
    \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": $mem},
    \"balloon\": {\"amount_mib\": 0, \"deflate_on_oom\": true, \"stats_polling_interval_s\": 1}}"
  api PUT "/vms/$vm/actions" '{"action_type": "InstanceStart"}'
done
for vm in web batch; do
  until grep -q BLIMP-GUEST-READY "$run_dir/vms/$vm/console.log" 2>/dev/null; do sleep 0.01; done
  echo "  $vm ready after $(( ($(date +%s%N) - start) / 1000000 )) ms"
done

say "GET /vms"
api GET /vms >"$run_dir/vms.json"
python3 - "$run_dir/vms.json" <<'PY'
import json, sys
print(f"  {'id':8} {'state':18} {'vCPUs':>5} {'memory':>8} {'balloon':>8} {'VMM RSS':>8}")
for vm in json.load(open(sys.argv[1]))["vms"]:
    c = vm["config"]["machine-config"]
    print(f"  {vm['vm_id']:8} {vm['state']:18} {c['vcpu_count']:>5} {c['mem_size_mib']:>4} MiB"
          f" {vm.get('balloon_actual_mib', 0):>4} MiB {int(vm['vmm_rss_bytes']) >> 20:>4} MiB")
PY

# Let 'web' use memory and free it again, so the balloon has resident pages
# to give back to the host.
python3 - "$run_dir/vms/web/console.sock" "$touch_cmds" "$touch_done" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode())
done = sys.argv[3].encode().decode("unicode_escape").encode()
seen = b""
while done not in seen:  # The guest's answer on its console.
    seen += s.recv(4096)
PY
web_pid=$(api GET /vms/web | field '["vmm_pid"]')
echo "  web's VMM RSS after the guest touched and freed $touch MiB: $(rss_mib "$web_pid") MiB"

say "Inflate web's balloon: PATCH /vms/web/balloon {\"amount_mib\": $inflate}"
api PATCH /vms/web/balloon "{\"amount_mib\": $inflate}"
start=$(date +%s%N)
while :; do
  actual=$(api GET /vms/web/balloon/statistics | field '["actual_mib"]')
  filled=$(( actual * 40 / inflate ))
  printf '\r  [%-40s] %3d / %d MiB' "$(printf '%*s' "$filled" '' | tr ' ' '#')" "$actual" "$inflate"
  [ "$actual" -ge "$inflate" ] && break
  sleep 0.05
done
echo "  in $(( ($(date +%s%N) - start) / 1000000 )) ms; web's VMM RSS now $(rss_mib "$web_pid") MiB"

say "GET /vms/web/balloon/statistics"
sleep 1.1
api GET /vms/web/balloon/statistics | python3 -m json.tool | sed 's/^/  /'

say "Deflate: PATCH /vms/web/balloon {\"amount_mib\": 0}"
api PATCH /vms/web/balloon '{"amount_mib": 0}'
until [ "$(api GET /vms/web/balloon/statistics | field '["actual_mib"]')" = 0 ]; do sleep 0.05; done
echo "  web's balloon is empty again"

say "Stopping blimpd (SIGTERM stops every VM)"
kill "$daemon_pid"; wait "$daemon_pid" && echo "  blimpd exited cleanly"
daemon_pid=""

"""blimpd's memory enforcement (daemon/README.md, "Memory enforcement"):
what it costs an honest balloon (inflate and deflate of 96 MiB in a 128 MiB
test guest, per mode: none, monitor, limit) and how long a lying driver
(the test guest's `hostile steal-balloon`: inflated pages kept and written)
takes to be flagged (monitor) and to be stopped (limit). Blimp only: no peer
VMM enforces anything."""
import os
import socket
import statistics
import time

import daemon_bench

# The hostile tests' settings, so the latencies are comparable with them.
FLAGS = ["--memory-check-interval=250ms", "--memory-grace=2s", "--memory-slack-mib=16",
         "--vmm-memory-allowance-mib=32"]


def console(daemon, vm_id, command, timeout=60):
    """Sends `command` to the guest's shell; returns once it prints ok/error."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(daemon.vm_file(vm_id, "console.sock"))
    sock.settimeout(timeout)
    sock.sendall(command.encode() + b"\n")
    seen = b""
    while not any(line in (b"ok", b"ok\r") or line.startswith(b"error:")
                  for line in seen.split(b"\n")):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"console closed during {command!r}")  # The VMM ended.
        seen += chunk
    sock.close()
    return seen


def wait_for(predicate, timeout):
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise TimeoutError("condition not reached")
        time.sleep(0.005)
    return time.monotonic() - start


def balloon_seconds(daemon, vm_id, mib):
    """PATCH the target, then wait until the guest reports it."""
    start = time.monotonic()
    daemon.rest.request("PATCH", f"/vms/{vm_id}/balloon", {"amount_mib": mib})
    wait_for(lambda: daemon.rest.request(
        "GET", f"/vms/{vm_id}/balloon/statistics")["actual_mib"] == mib, 60)
    return time.monotonic() - start


def honest_cycles(mode, runs):
    daemon = daemon_bench.Daemon(daemon_bench.CURRENT, FLAGS)
    try:
        daemon.boot("vm", {"memory_enforcement": mode})
        console(daemon, "vm", "touch 100")  # Resident, so inflates free real pages.
        console(daemon, "vm", "free 100")
        inflate, deflate = [], []
        for _ in range(runs):
            inflate.append(balloon_seconds(daemon, "vm", 96))
            deflate.append(balloon_seconds(daemon, "vm", 0))
        return statistics.median(inflate) * 1e3, statistics.median(deflate) * 1e3
    finally:
        daemon.stop()


def liar_seconds(mode):
    """From the lie to the VM flagged (monitor) or FAILED (limit)."""
    daemon = daemon_bench.Daemon(daemon_bench.CURRENT, FLAGS)
    try:
        daemon.boot("liar", {"memory_enforcement": mode})
        balloon_seconds(daemon, "liar", 64)
        start = time.monotonic()
        console(daemon, "liar", "hostile steal-balloon")
        try:
            console(daemon, "liar", "touch 56", timeout=10)
        except OSError:
            pass  # Killed under the limit while touching.

        def done():
            vm = daemon.rest.request("GET", "/vms/liar")
            if mode == "limit":
                return vm.get("state") == "VM_STATE_FAILED"
            return vm.get("memory_enforcement", {}).get("flagged", False)
        try:
            wait_for(done, 30)
        except TimeoutError:
            raise TimeoutError(f"{mode}: {daemon.rest.request('GET', '/vms/liar')}")
        return time.monotonic() - start
    finally:
        daemon.stop()


def run(runs=5):
    rows = []
    for mode in ("none", "monitor", "limit"):
        inflate_ms, deflate_ms = honest_cycles(mode, runs)
        rows.append(f"| inflate 96 MiB, {mode} (ms) | {inflate_ms:.1f} |")
        rows.append(f"| deflate 96 MiB, {mode} (ms) | {deflate_ms:.1f} |")
    rows.append(f"| lying driver flagged, monitor (s) | "
                f"{statistics.median(liar_seconds('monitor') for _ in range(3)):.2f} |")
    rows.append(f"| lying driver stopped, limit (s) | "
                f"{statistics.median(liar_seconds('limit') for _ in range(3)):.2f} |")
    table = "\n".join(["| measure | Blimp |", "|---|---|"] + rows)
    return table, (f"median of {runs} inflate/deflate cycles and of 3 lying drivers; "
                   "blimpd " + " ".join(FLAGS))

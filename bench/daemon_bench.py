"""blimpd: API latency and throughput (gRPC and REST; no peer has gRPC, so
the peer is an earlier build of blimpd run in the same session: --before DIR),
healthy-VM latency while another VM's blimp-vmm is stopped (SIGSTOP), VM
create-to-ready time, the daemon's RSS and each VMM's PSS."""
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time

import control
import vmm_runner

CURRENT = os.path.join(vmm_runner.ROOT, "bazel-bin")
CLIENTS = (1, 4, 16)


class Daemon:
    """A blimpd from `bin_dir` (a bazel-bin or a copy of one) in a fresh run dir."""

    def __init__(self, bin_dir, flags=()):
        self.bin_dir = bin_dir
        self.run_dir = tempfile.mkdtemp(prefix="blimp-bench-", dir="/tmp")
        self.process = subprocess.Popen(
            [os.path.join(bin_dir, "daemon/blimpd"), "--run-dir", self.run_dir,
             "--vmm-binary", os.path.join(bin_dir, "vmm/blimp-vmm"), *flags],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.sock = os.path.join(self.run_dir, "blimp.sock")
        while not os.path.exists(self.sock):
            time.sleep(0.01)
        time.sleep(0.2)
        self.rest = control.BlimpRest(self.sock)

    def vm_file(self, vm_id, name):
        # <run-dir>/vms/<id>/ since the id namespace; <run-dir>/<id>/ before.
        for path in (os.path.join(self.run_dir, "vms", vm_id, name),
                     os.path.join(self.run_dir, vm_id, name)):
            if os.path.exists(path):
                return path
        return None

    def boot(self, vm_id, balloon=None, mem_mib=128):
        """Seconds from PUT /vms/{id} until BLIMP-GUEST-READY in its console.
        `balloon`: fields added to the balloon's config."""
        config = {"boot-source": {"kernel_image_path": vmm_runner.TEST_GUEST,
                                  "boot_args": "console=ttyS0"},
                  "machine-config": {"vcpu_count": 1, "mem_size_mib": mem_mib},
                  "balloon": {"amount_mib": 0, "deflate_on_oom": False,
                              "stats_polling_interval_s": 1, **(balloon or {})}}
        start = time.monotonic()
        self.rest.request("PUT", f"/vms/{vm_id}", config)
        self.rest.request("PUT", f"/vms/{vm_id}/actions", {"action_type": "InstanceStart"})
        while True:
            console = self.vm_file(vm_id, "console.log")
            if console:
                with open(console, "rb") as f:
                    if b"BLIMP-GUEST-READY" in f.read():
                        return time.monotonic() - start
            if time.monotonic() - start > 30:
                raise TimeoutError(f"{vm_id} did not boot")
            time.sleep(0.002)

    def vmm_pid(self, vm_id):
        return self.rest.request("GET", f"/vms/{vm_id}")["vmm_pid"]

    def api_bench(self, vms, transport, op, clients, seconds=3):
        out = subprocess.run(
            [os.path.join(self.bin_dir, "bench/api_bench"),
             "--grpc", f"unix:{self.run_dir}/blimp.grpc.sock", "--rest", self.sock,
             "--vms", ",".join(vms), "--transport", transport, "--op", op,
             "--clients", str(clients), "--seconds", str(seconds)],
            capture_output=True, text=True).stdout
        return json.loads(out)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)
        shutil.rmtree(self.run_dir, ignore_errors=True)


def rss_mib(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGESIZE") / 2**20


def pss_mib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    return 0.0


def timed(call):
    start = time.monotonic()
    try:
        call()
    except Exception:  # A timeout or an error answer still took this long.
        pass
    return time.monotonic() - start


def measure(bin_dir, runs):
    """Every number of one blimpd build."""
    daemon = Daemon(bin_dir)
    result = {"api": {}, "wedged": {}}
    try:
        rss_empty = rss_mib(daemon.process.pid)
        ready = [daemon.boot(f"vm{i}") for i in range(max(5, runs))]
        healthy = [f"vm{i}" for i in range(4)]
        for op in ("stats", "patch"):
            for transport in ("grpc", "rest"):
                for clients in CLIENTS:
                    result["api"][(op, transport, clients)] = daemon.api_bench(
                        healthy, transport, op, clients)
        pss_one = pss_mib(daemon.vmm_pid("vm0"))
        for i in range(len(ready), 10):
            daemon.boot(f"vm{i}")
        pids = [daemon.vmm_pid(f"vm{i}") for i in range(10)]
        time.sleep(1)
        pss = [pss_mib(pid) for pid in pids]
        result["pss_one"] = pss_one
        result["pss_ten"] = sum(pss)
        result["rss_vmm"] = statistics.median(rss_mib(pid) for pid in pids)
        result["rss_empty"] = rss_empty
        result["rss_ten"] = rss_mib(daemon.process.pid)
        result["ready_ms"] = statistics.median(ready) * 1e3

        # vm4 wedged: its blimp-vmm stopped while a client keeps calling it.
        wedged_pid = daemon.vmm_pid("vm4")
        os.kill(wedged_pid, signal.SIGSTOP)
        stop = threading.Event()

        def call_wedged():
            rest = control.BlimpRest(daemon.sock)
            while not stop.is_set():
                timed(lambda: rest.request("GET", "/vms/vm4/balloon/statistics"))
        caller = threading.Thread(target=call_wedged)
        caller.start()
        try:
            time.sleep(0.2)
            for transport in ("grpc", "rest"):
                result["wedged"][transport] = daemon.api_bench(healthy, transport, "stats", 4)
            rest = control.BlimpRest(daemon.sock)
            result["wedged"]["list"] = timed(lambda: rest.request("GET", "/vms"))
            result["wedged"]["metrics"] = timed(lambda: rest.request("GET", "/metrics"))
            result["wedged"]["own"] = timed(
                lambda: control.BlimpRest(daemon.sock).request(
                    "GET", "/vms/vm4/balloon/statistics"))
        finally:
            stop.set()
            os.kill(wedged_pid, signal.SIGCONT)
            caller.join()
        return result
    finally:
        daemon.stop()


def ready_without_jail(runs):
    """Median create-to-ready (ms) of the current build with --nojail."""
    daemon = Daemon(CURRENT, ["--nojail"])
    try:
        return statistics.median(daemon.boot(f"vm{i}") for i in range(max(5, runs))) * 1e3
    finally:
        daemon.stop()


def run(runs=5, before=None):
    variants = [("before", before)] if before else []
    variants.append(("after" if before else "now", CURRENT))
    results = [(name, measure(bin_dir, runs)) for name, bin_dir in variants]
    nojail_ms = ready_without_jail(runs)
    names = [name for name, _ in results]
    head = "| API call | transport | clients | " + " | ".join(
        f"{n} p50 (us) | {n} p99 (us) | {n} req/s" for n in names)
    ratio = len(results) == 2
    lines = [head + (" | req/s after/before |" if ratio else " |"),
             "|---" * (3 + 3 * len(results) + ratio) + "|"]
    for op, label in (("stats", "GET /balloon/statistics"), ("patch", "PATCH /balloon")):
        for transport in ("grpc", "rest"):
            for clients in CLIENTS:
                cells = []
                for _, r in results:
                    a = r["api"][(op, transport, clients)]
                    cells += [f"{a['p50_us']:.0f}", f"{a['p99_us']:.0f}", f"{a['rps']:.0f}"]
                row = f"| {label} | {transport} | {clients} | " + " | ".join(cells)
                if ratio:
                    rps = [r["api"][(op, transport, clients)]["rps"] for _, r in results]
                    row += f" | {rps[1] / rps[0]:.2f}" if rps[0] else " | -"
                lines.append(row + " |")

    def row(label, values, fmt="{:.1f}"):
        return f"| {label} | " + " | ".join(fmt.format(v) for v in values) + " |"

    lines += ["", "| measure | " + " | ".join(names) + " |", "|---" * (1 + len(names)) + "|"]
    for transport in ("grpc", "rest"):
        base = [r["api"][("stats", transport, 4)]["p99_us"] / 1e3 for _, r in results]
        wedged = [r["wedged"][transport]["p99_us"] / 1e3 for _, r in results]
        lines.append(row(f"healthy-VM statistics p99, 4 {transport} clients (ms)", base))
        lines.append(row(f"... the same while another VM is SIGSTOPped (ms)", wedged))
    lines += [
        row("GET /vms while a VM is SIGSTOPped (s)", [r["wedged"]["list"] for _, r in results],
            "{:.2f}"),
        row("GET /metrics while a VM is SIGSTOPped (s)",
            [r["wedged"]["metrics"] for _, r in results], "{:.2f}"),
        row("a call to the SIGSTOPped VM itself ends after (s)",
            [r["wedged"]["own"] for _, r in results], "{:.2f}"),
        row("VM create to BLIMP-GUEST-READY, median (ms)", [r["ready_ms"] for _, r in results]),
        f"| ... the current build with --nojail (ms); jailed/unjailed | "
        f"{nojail_ms:.1f} | {results[-1][1]['ready_ms'] / nojail_ms:.2f} |",
        row("blimpd RSS with 0 VMs (MiB)", [r["rss_empty"] for _, r in results]),
        row("blimpd RSS with 10 VMs (MiB)", [r["rss_ten"] for _, r in results]),
        row("blimp-vmm RSS, median of 10 idle VMs (MiB)", [r["rss_vmm"] for _, r in results]),
        row("blimp-vmm PSS, 1 VM running (MiB)", [r["pss_one"] for _, r in results]),
        row("blimp-vmm PSS per VM with 10 running (MiB)",
            [r["pss_ten"] / 10 for _, r in results]),
        row("blimp-vmm PSS per extra VM: (sum of 10 - 1 alone) / 9 (MiB)",
            [(r["pss_ten"] - r["pss_one"]) / 9 for _, r in results]),
    ]
    note = "5-10 running test-guest VMs (128 MiB), 3 s per row"
    if before:
        note += f"; 'before' is the blimpd build in {before}, run in the same session"
    return "\n".join(lines), note

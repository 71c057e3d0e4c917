"""blimpd: API latency and throughput (gRPC and REST; no peer has gRPC, so
Blimp only), VM create-to-ready time, and the daemon's own RSS."""
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

import control
import vmm_runner

BLIMPD = os.path.join(vmm_runner.ROOT, "bazel-bin/daemon/blimpd")
API_BENCH = os.path.join(vmm_runner.ROOT, "bazel-bin/bench/api_bench")


def rss_mib(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGESIZE") / 2**20


def create_and_boot(rest, run_dir, vm_id):
    """Seconds from PUT /vms/{id} until BLIMP-GUEST-READY in its console."""
    config = {"boot-source": {"kernel_image_path": vmm_runner.TEST_GUEST,
                              "boot_args": "console=ttyS0"},
              "machine-config": {"vcpu_count": 1, "mem_size_mib": 128},
              "balloon": {"amount_mib": 0, "deflate_on_oom": False,
                          "stats_polling_interval_s": 1}}
    start = time.monotonic()
    rest.request("PUT", f"/vms/{vm_id}", config)
    rest.request("PUT", f"/vms/{vm_id}/actions", {"action_type": "InstanceStart"})
    console = os.path.join(run_dir, "vms", vm_id, "console.log")
    while True:
        with open(console, "rb") as f:
            if b"BLIMP-GUEST-READY" in f.read():
                return time.monotonic() - start
        if time.monotonic() - start > 30:
            raise TimeoutError(f"{vm_id} did not boot")
        time.sleep(0.002)


def run(runs=5):
    run_dir = tempfile.mkdtemp(prefix="blimp-bench-", dir="/tmp")
    daemon = subprocess.Popen([BLIMPD, "--run-dir", run_dir], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        sock = os.path.join(run_dir, "blimp.sock")
        while not os.path.exists(sock):
            time.sleep(0.01)
        time.sleep(0.2)
        rest = control.BlimpRest(sock)
        rss_empty = rss_mib(daemon.pid)
        ready = [create_and_boot(rest, run_dir, f"vm{i}") for i in range(max(4, runs))]
        vms = ",".join(f"vm{i}" for i in range(4))
        lines = ["| API call | transport | clients | p50 (us) | p99 (us) | requests/s |",
                 "|---|---|---|---|---|---|"]
        for op, label in (("stats", "GET /balloon/statistics"), ("patch", "PATCH /balloon")):
            for transport in ("grpc", "rest"):
                for clients in (1, 4, 16):
                    out = subprocess.run(
                        [API_BENCH, "--grpc", f"unix:{run_dir}/blimp.grpc.sock", "--rest", sock,
                         "--vms", vms, "--transport", transport, "--op", op,
                         "--clients", str(clients), "--seconds", "3"],
                        capture_output=True, text=True, check=True).stdout
                    r = json.loads(out)
                    lines.append(f"| {label} | {transport} | {clients} | {r['p50_us']:.0f} | "
                                 f"{r['p99_us']:.0f} | {r['rps']:.0f} |")
        for i in range(len(ready), 10):
            create_and_boot(rest, run_dir, f"vm{i}")
        rss_ten = rss_mib(daemon.pid)
        lines += ["", "| measure | Blimp |", "|---|---|",
                  f"| VM create to BLIMP-GUEST-READY through blimpd, median (ms) | "
                  f"{statistics.median(ready) * 1e3:.1f} |",
                  f"| blimpd RSS with 0 VMs (MiB) | {rss_empty:.1f} |",
                  f"| blimpd RSS with 10 VMs (MiB) | {rss_ten:.1f} |"]
        return "\n".join(lines), "4 running test-guest VMs, 3 s per row; Blimp only"
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
        shutil.rmtree(run_dir, ignore_errors=True)

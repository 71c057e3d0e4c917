"""Snapshot, restore and migration of the test guest (1 vCPU, 256 MiB) with
its balloon empty and at 75%: Blimp (blimp-vmm's PUT /snapshot/create and
/snapshot/load; MigrateVm between two blimpd, through blimpctl) against
QEMU (QMP `stop` + `migrate` to a file, `-incoming` from it and `cont`;
`migrate` over TCP between two QEMU processes). Before each, the guest
touches 200 MiB, writes a pattern into it and frees it: resident, non-zero
host memory that the balloon, when inflated, takes first."""
import json
import os
import socket
import statistics
import subprocess
import tempfile
import time

import control
import daemon_bench
import enforcement_bench
import vmm_runner

MEM_MIB = 256
BALLOONS = (0, MEM_MIB * 3 // 4)
BLIMPCTL = os.path.join(vmm_runner.ROOT, "bazel-bin/client/blimpctl")
BALLOON = {"amount_mib": 0, "deflate_on_oom": False, "stats_polling_interval_s": 1}


def wait_for(predicate, timeout=120.0):
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise TimeoutError("condition not reached")
        time.sleep(0.002)


def prepare(command, ctl, balloon_mib):
    for line in ("touch 200", "fill 1", "free 200"):
        command(line)
    if balloon_mib:
        ctl.set_target_mib(balloon_mib)
        wait_for(lambda: ctl.actual_mib() == balloon_mib)


def answers(api_sock):
    """Whether blimp-vmm serves its API yet (the socket file comes first)."""
    try:
        control.BlimpRest(api_sock).request("GET", "/")
        return True
    except OSError:
        return False


def allocated_mib(path):
    return os.stat(path).st_blocks * 512 / (1 << 20)


def blimp_snapshot(workdir, balloon_mib):
    """(snapshot ms, file MiB, restore ms)."""
    api = os.path.join(workdir, "api.sock")
    vm = vmm_runner.blimp(1, MEM_MIB, balloon=BALLOON, extra=("--api-sock", api))
    state, mem = os.path.join(workdir, "vm.state"), os.path.join(workdir, "vm.mem")
    try:
        vm.wait_for("BLIMP-GUEST-READY")
        ctl = control.BlimpRest(api)
        prepare(vm.command, ctl, balloon_mib)
        start = time.monotonic()
        ctl.request("PATCH", "/vm", {"state": "Paused"})
        ctl.request("PUT", "/snapshot/create", {"snapshot_type": "Full", "snapshot_path": state,
                                                "mem_file_path": mem})
        snapshot = time.monotonic() - start
    finally:
        vm.stop()
    size = allocated_mib(mem) + allocated_mib(state)
    api2 = os.path.join(workdir, "api2.sock")
    start = time.monotonic()
    restored = vmm_runner.Console([vmm_runner.BLIMP_VMM, "--api-sock", api2])
    try:
        wait_for(lambda: answers(api2), 10)
        control.BlimpRest(api2).request("PUT", "/snapshot/load", {
            "snapshot_path": state, "resume_vm": True,
            "mem_backend": {"backend_type": "File", "backend_path": mem}})
        restore = time.monotonic() - start
        assert any("checked" in line for line in restored.command("check 1")), "pattern lost"
    finally:
        restored.stop()
    return snapshot * 1e3, size, restore * 1e3


class Qemu:
    """The test guest under QEMU with virtio-balloon-device and QMP."""

    def __init__(self, workdir, name, incoming=None):
        self.qmp_path = os.path.join(workdir, f"{name}.qmp")
        extra = ["-global", "virtio-mmio.force-legacy=false", "-device", "virtio-balloon-device",
                 "-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        if incoming:
            extra += ["-incoming", incoming]
        self.vm = vmm_runner.qemu(1, MEM_MIB, machine="microvm,acpi=off", extra=extra)
        wait_for(lambda: os.path.exists(self.qmp_path), 10)
        self.qmp = control.QemuQmp(self.qmp_path, MEM_MIB)

    def migrate(self, uri):
        self.qmp.execute("migrate", {"uri": uri})
        while True:
            info = self.qmp.execute("query-migrate")
            if info.get("status") == "completed":
                return info
            if info.get("status") in ("failed", "cancelled"):
                raise RuntimeError(f"QEMU migrate: {info}")
            time.sleep(0.002)

    def wait_incoming(self):
        wait_for(lambda: self.qmp.execute("query-status")["status"] not in ("inmigrate",))


def qemu_snapshot(workdir, balloon_mib):
    path = os.path.join(workdir, "qemu.state")
    source = Qemu(workdir, "source")
    try:
        source.vm.wait_for("BLIMP-GUEST-READY")
        prepare(source.vm.command, source.qmp, balloon_mib)
        start = time.monotonic()
        source.qmp.execute("stop")
        source.migrate(f"exec:cat > {path}")
        snapshot = time.monotonic() - start
    finally:
        source.vm.stop()
    size = allocated_mib(path)
    start = time.monotonic()
    restored = Qemu(workdir, "restored", incoming=f"exec:cat {path}")
    try:
        restored.wait_incoming()
        restored.qmp.execute("cont")
        restore = time.monotonic() - start
        assert any("checked" in line for line in restored.vm.command("check 1")), "pattern lost"
    finally:
        restored.vm.stop()
    return snapshot * 1e3, size, restore * 1e3


def blimp_migrate(balloon_mib):
    """(total ms, downtime ms, MiB sent) for MigrateVm between two blimpd."""
    source = daemon_bench.Daemon(daemon_bench.CURRENT)
    target = daemon_bench.Daemon(daemon_bench.CURRENT)
    try:
        source.boot("vm", mem_mib=MEM_MIB)
        ctl = control.BlimpRest(source.sock)
        ctl.set_target_mib = lambda mib: ctl.request("PATCH", "/vms/vm/balloon",
                                                     {"amount_mib": mib})
        ctl.actual_mib = lambda: ctl.request("GET", "/vms/vm/balloon/statistics")["actual_mib"]
        prepare(lambda line: enforcement_bench.console(source, "vm", line), ctl, balloon_mib)
        start = time.monotonic()
        out = subprocess.run(
            [BLIMPCTL, "--server", f"unix:{source.run_dir}/blimp.grpc.sock", "--output", "json",
             "vm", "migrate", "vm", "--to", f"unix:{target.run_dir}/blimp.grpc.sock"],
            capture_output=True, text=True, check=True).stdout
        total = time.monotonic() - start
        answer = json.loads(out)
        field = lambda name: int(answer.get(name, answer.get(
            "".join(w if i == 0 else w.title() for i, w in enumerate(name.split("_"))), 0)))
        return total * 1e3, field("downtime_ms"), field("memory_sent_bytes") / (1 << 20)
    finally:
        source.stop()
        target.stop()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qemu_migrate(workdir, balloon_mib):
    port = free_port()
    target = Qemu(workdir, "target", incoming=f"tcp:127.0.0.1:{port}")
    source = Qemu(workdir, "source")
    try:
        source.vm.wait_for("BLIMP-GUEST-READY")
        prepare(source.vm.command, source.qmp, balloon_mib)
        start = time.monotonic()
        info = source.migrate(f"tcp:127.0.0.1:{port}")
        target.wait_incoming()
        total = time.monotonic() - start
        return total * 1e3, info.get("downtime", 0), info["ram"]["transferred"] / (1 << 20)
    finally:
        source.vm.stop()
        target.vm.stop()


def median_of(runs, measure):
    samples = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as workdir:
            samples.append(measure(workdir))
    return [statistics.median(s[i] for s in samples) for i in range(len(samples[0]))]


def run(runs=5):
    rows = []
    for balloon in BALLOONS:
        label = f"balloon {balloon} MiB"
        b = median_of(runs, lambda d: blimp_snapshot(d, balloon))
        q = median_of(runs, lambda d: qemu_snapshot(d, balloon))
        rows += [(f"pause + snapshot, {label} (ms)", b[0], q[0]),
                 (f"snapshot size on disk, {label} (MiB)", b[1], q[1]),
                 (f"restore to running, {label} (ms)", b[2], q[2])]
        b = median_of(runs, lambda d: blimp_migrate(balloon))
        q = median_of(runs, lambda d: qemu_migrate(d, balloon))
        rows += [(f"migrate, {label} (ms)", b[0], q[0]),
                 (f"migrate downtime, {label} (ms)", b[1], q[1]),
                 (f"migrate memory sent, {label} (MiB)", b[2], q[2])]
    return rows, f"1 vCPU, {MEM_MIB} MiB test guest, median of {runs}"

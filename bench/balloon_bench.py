"""Balloon inflate/deflate: time from the target change until the guest's
driver reports it, MiB/s, and how much of the inflated memory left the VMM's
RSS. Blimp (REST) vs QEMU's virtio-balloon-device (QMP), same test guest."""
import os
import statistics
import tempfile
import time

import control
import vmm_runner

MEM_MIB = 2048
SIZES = (128, 256, 1024)


def wait_actual(ctl, mib, timeout=120.0):
    start = time.monotonic()
    while ctl.actual_mib() != mib:
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"balloon stuck at {ctl.actual_mib()} MiB, wanted {mib}")
        time.sleep(0.002)
    return time.monotonic() - start


def start_blimp(workdir):
    sock = os.path.join(workdir, "api.sock")
    vm = vmm_runner.blimp(1, MEM_MIB, balloon={"amount_mib": 0, "deflate_on_oom": False,
                                                   "stats_polling_interval_s": 1},
                          extra=("--api-sock", sock))
    vm.wait_for("BLIMP-GUEST-READY")
    return vm, control.BlimpRest(sock)


def start_qemu(workdir):
    sock = os.path.join(workdir, "qmp.sock")
    vm = vmm_runner.qemu(1, MEM_MIB, machine="microvm,acpi=off", extra=(
        "-global", "virtio-mmio.force-legacy=false", "-device", "virtio-balloon-device",
        "-qmp", f"unix:{sock},server=on,wait=off"))
    vm.wait_for("BLIMP-GUEST-READY")
    return vm, control.QemuQmp(sock, MEM_MIB)


def one_run(start, size):
    with tempfile.TemporaryDirectory() as workdir:
        vm, ctl = start(workdir)
        try:
            # Guest memory that is resident in the host, then free in the guest.
            vm.command(f"touch {size}")
            vm.command(f"free {size}")
            rss = vm.rss_bytes()
            ctl.set_target_mib(size)
            inflate = wait_actual(ctl, size)
            released = (rss - vm.rss_bytes()) / (size << 20)
            ctl.set_target_mib(0)
            deflate = wait_actual(ctl, 0)
            return inflate, deflate, released
        finally:
            vm.stop()


def run(runs=5):
    rows = []
    for size in SIZES:
        results = {}
        for name, start in (("blimp", start_blimp), ("qemu", start_qemu)):
            samples = [one_run(start, size) for _ in range(runs)]
            results[name] = [statistics.median(s[i] for s in samples) for i in range(3)]
        b, q = results["blimp"], results["qemu"]
        rows += [
            (f"inflate {size} MiB (ms)", b[0] * 1e3, q[0] * 1e3),
            (f"inflate {size} MiB (MiB/s)", size / b[0], size / q[0]),
            (f"deflate {size} MiB (ms)", b[1] * 1e3, q[1] * 1e3),
            (f"inflated memory that left the VMM's RSS, {size} MiB (%)", b[2] * 100,
             q[2] * 100),
        ]
    return rows, f"1 vCPU, {MEM_MIB} MiB guest, median of {runs}"

"""Free page reporting and density: Blimp vs QEMU, same guest.

reporting: the guest touches 300 MiB and frees it with free page reporting
on; how much RSS the VMM gives back and how long that takes.
density: 256 MiB guests that touched 200 MiB and freed it; their RSS with no
balloon and with the balloon inflated to 192 MiB, and how many such guests
this host's memory holds (projected from the measured per-VM RSS).
"""
import os
import statistics
import tempfile
import time

import balloon_bench
import control
import vmm_runner


def start_blimp(workdir, mem, reporting):
    sock = os.path.join(workdir, "api.sock")
    vm = vmm_runner.blimp(1, mem, balloon={"amount_mib": 0, "deflate_on_oom": False,
                                           "stats_polling_interval_s": 1,
                                           "free_page_reporting": reporting},
                          extra=("--api-sock", sock))
    vm.wait_for("BLIMP-GUEST-READY")
    return vm, control.BlimpRest(sock)


def start_qemu(workdir, mem, reporting):
    sock = os.path.join(workdir, "qmp.sock")
    device = "virtio-balloon-device" + (",free-page-reporting=on" if reporting else "")
    vm = vmm_runner.qemu(1, mem, machine="microvm,acpi=off", extra=(
        "-global", "virtio-mmio.force-legacy=false", "-device", device,
        "-qmp", f"unix:{sock},server=on,wait=off"))
    vm.wait_for("BLIMP-GUEST-READY")
    return vm, control.QemuQmp(sock, mem)


def reporting_run(start):
    with tempfile.TemporaryDirectory() as workdir:
        vm, _ = start(workdir, 512, True)
        try:
            vm.command("touch 300")
            touched = vm.rss_bytes()
            vm.command("free 300")
            freed_at = time.monotonic()
            # Until 90% came back, or 10 s.
            while touched - vm.rss_bytes() < 270 << 20 and time.monotonic() - freed_at < 10:
                time.sleep(0.002)
            elapsed = time.monotonic() - freed_at
            time.sleep(0.5)  # Let any stragglers land.
            return (touched - vm.rss_bytes()) / 2**20, elapsed
        finally:
            vm.stop()


def density_run(start, balloon_mib):
    with tempfile.TemporaryDirectory() as workdir:
        vm, ctl = start(workdir, 256, False)
        try:
            vm.command("touch 200")
            vm.command("free 200")
            if balloon_mib:
                ctl.set_target_mib(balloon_mib)
                balloon_bench.wait_actual(ctl, balloon_mib)
            time.sleep(0.2)
            return vm.rss_bytes() / 2**20
        finally:
            vm.stop()


def host_mib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024
    return 0


def run(runs=5):
    rows = []
    rep = {name: [reporting_run(start) for _ in range(runs)]
           for name, start in (("blimp", start_blimp), ("qemu", start_qemu))}
    for i, label in ((0, "reporting: RSS given back after the guest frees 300 MiB (MiB)"),
                     (1, "reporting: time until 90% of it is back (ms)")):
        b = statistics.median(r[i] for r in rep["blimp"])
        q = statistics.median(r[i] for r in rep["qemu"])
        rows.append((label, b * (1e3 if i else 1), q * (1e3 if i else 1)))
    host = host_mib()
    for balloon_mib, label in ((0, "no balloon"), (192, "balloon at 192 MiB")):
        rss = {name: statistics.median(density_run(start, balloon_mib) for _ in range(runs))
               for name, start in (("blimp", start_blimp), ("qemu", start_qemu))}
        rows.append((f"density: RSS of a 256 MiB guest, {label} (MiB)", rss["blimp"], rss["qemu"]))
        rows.append((f"density: such guests in this host's {host / 1024:.0f} GiB, {label}",
                     host // rss["blimp"], host // rss["qemu"]))
    return rows, f"1 vCPU; median of {runs}; guest counts projected from the measured RSS"

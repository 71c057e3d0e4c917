"""The Blimp Linux guest (tests/guest/linux/build_image.sh) under blimp-vmm
and QEMU -M microvm, same ELF vmlinux, initramfs and effective command line,
one after the other in each run: seconds from process start to each boot
milestone, where each stopped, and, under blimp-vmm, Linux's own
virtio_balloon driver inflating and deflating 64 MiB it had touched. QEMU
gets the words blimp-vmm adds on this PVM host (noxsave clearcpuid=...)."""
import json
import os
import re
import select
import statistics
import tempfile
import time

import control
import vmm_runner

LINUX_DIR = os.environ.get("BLIMP_LINUX_DIR", os.path.join(vmm_runner.ROOT, "build/guest-linux"))
CMDLINE = "console=ttyS0 reboot=k panic=1"
PVM_WORDS = "noxsave clearcpuid=smap,erms,fsrm"  # What blimp-vmm adds (arch/x86_64/boot.cc).
MEM_MIB = 256
INFLATE_MIB = 64
MILESTONES = [
    ("Linux version", "Linux version"),
    ("Memory: (buddy allocator up)", "Memory: "),
    ("console on ttyS0", "printk: console [ttyS0] enabled"),
    ("SMP/CPU0 up", "smpboot: CPU0:"),
    ("kvm-clock clocksource", "Switched to clocksource kvm-clock"),
    ("initramfs unpacking", "Unpacking initramfs"),
    ("initramfs unpacked", "Freeing initrd memory"),
    ("Run /init", "Run /init"),
    ("BLIMP-GUEST-READY", "BLIMP-GUEST-READY"),
]


def boot(argv, timeout):
    """The console, seconds to each milestone (None if not reached), the stop
    reason and the guest's printk timestamp of each milestone."""
    vm = vmm_runner.Console(argv)
    times, stamps, reason = {}, {}, f"timeout after {timeout:.0f} s"
    seen = b""
    while time.monotonic() - vm.start < timeout and len(times) < len(MILESTONES):
        ready, _, _ = select.select([vm.proc.stdout], [], [], 1.0)
        if not ready:
            continue
        chunk = os.read(vm.proc.stdout.fileno(), 65536)
        if not chunk:
            reason = "VMM exited"
            break
        seen += chunk
        for label, needle in MILESTONES:
            at = seen.find(needle.encode())
            if label not in times and at >= 0:
                times[label] = time.monotonic() - vm.start
                line = seen[seen.rfind(b"\n", 0, at) + 1:at].decode(errors="replace")
                stamp = re.search(r"\[\s*([0-9.]+)\]", line)
                stamps[label] = float(stamp.group(1)) if stamp else None
    else:
        if len(times) == len(MILESTONES):
            reason = "reached BLIMP-GUEST-READY"
    if "BLIMP-GUEST-READY" in times:
        vm.buffer = seen[seen.index(b"BLIMP-GUEST-READY"):]
        vm.buffer = vm.buffer[vm.buffer.index(b"\n") + 1:] if b"\n" in vm.buffer else b""
    return vm, times, reason, stamps


def wait_actual(ctl, mib, timeout=120.0):
    start = time.monotonic()
    while ctl.actual_mib() != mib:
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"balloon stuck at {ctl.actual_mib()} MiB, wanted {mib}")
        time.sleep(0.005)
    return time.monotonic() - start


def blimp_run(vmlinux, initrd, timeout):
    with tempfile.TemporaryDirectory() as workdir:
        sock = os.path.join(workdir, "api.sock")
        config = os.path.join(workdir, "vm.json")
        with open(config, "w") as f:
            json.dump({"boot-source": {"kernel_image_path": vmlinux, "initrd_path": initrd,
                                       "boot_args": CMDLINE},
                       "machine-config": {"vcpu_count": 1, "mem_size_mib": MEM_MIB},
                       "balloon": {"amount_mib": 0, "deflate_on_oom": False,
                                   "stats_polling_interval_s": 1}}, f)
        vm, times, reason, stamps = boot(
            [vmm_runner.BLIMP_VMM, "--config-file", config, "--api-sock", sock], timeout)
        try:
            if "BLIMP-GUEST-READY" not in times:
                return times, reason, stamps, None
            ctl = control.BlimpRest(sock)
            vm.command(f"hog {INFLATE_MIB + 32}", timeout=300)
            vm.command("unhog")
            rss = vm.guest_ram_rss_bytes(MEM_MIB // 2)
            ctl.set_target_mib(INFLATE_MIB)
            inflate = wait_actual(ctl, INFLATE_MIB)
            released = (rss - vm.guest_ram_rss_bytes(MEM_MIB // 2)) / (INFLATE_MIB << 20)
            ctl.set_target_mib(0)
            deflate = wait_actual(ctl, 0)
            return times, reason, stamps, (inflate, deflate, released)
        finally:
            vm.stop()


def qemu_run(vmlinux, initrd, timeout):
    vm, times, reason, _ = boot(
        ["qemu-system-x86_64", "-M", "microvm", "-enable-kvm",
         "-cpu", "host,-arch-capabilities", "-m", str(MEM_MIB), "-smp", "1",
         "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
         "-kernel", vmlinux, "-initrd", initrd, "-append", f"{CMDLINE} {PVM_WORDS}"], timeout)
    exited = vm.proc.poll() is not None
    vm.stop()
    if exited and reason.startswith("VMM"):
        reason = "QEMU exited"
    return times, reason


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def run(runs=3, timeout=float(os.environ.get("BLIMP_LINUX_BENCH_TIMEOUT", "120"))):
    vmlinux = os.path.join(LINUX_DIR, "vmlinux")
    initrd = os.path.join(LINUX_DIR, "initramfs.cpio")
    if not os.path.exists(vmlinux):
        raise SystemExit(f"{vmlinux} missing: run tests/guest/linux/build_image.sh")
    blimp, qemu = [], []
    for _ in range(runs):
        blimp.append(blimp_run(vmlinux, initrd, timeout))
        qemu.append(qemu_run(vmlinux, initrd, min(timeout, 90)))
    rows = [(f"s to '{label}'", median(b[0].get(label) for b in blimp),
             median(q[0].get(label) for q in qemu)) for label, _ in MILESTONES]
    # Where the boot's time goes, from the guest's own printk clock.
    for (label, _), (previous, _) in zip(MILESTONES[2:], MILESTONES[1:]):
        spans = [b[2][label] - b[2][previous] for b in blimp
                 if b[2].get(label) is not None and b[2].get(previous) is not None]
        rows.append((f"guest s from '{previous}' to '{label}'", median(spans), None))
    balloon = [b[3] for b in blimp if b[3] is not None]
    if balloon:
        inflate, deflate, released = (statistics.median(s[i] for s in balloon) for i in range(3))
        rows += [(f"Linux driver: inflate {INFLATE_MIB} MiB (ms)", inflate * 1e3, None),
                 ("Linux driver: inflate (MiB/s)", INFLATE_MIB / inflate, None),
                 (f"Linux driver: deflate {INFLATE_MIB} MiB (ms)", deflate * 1e3, None),
                 ("inflated memory that left the VMM's RSS (%)", released * 100, None)]
    note = (f"1 vCPU, {MEM_MIB} MiB, median of {runs}, {timeout:.0f} s cap; "
            f"Blimp stopped: {blimp[-1][1]}; QEMU stopped: {qemu[-1][1]}")
    return rows, note

"""Real Linux (Debian's cloud kernel, tests/guest/linux/build_image.sh) under
blimp-vmm and QEMU -M microvm, same ELF vmlinux, initramfs and command line,
one after the other in the same run: seconds from process start to each boot
milestone, and where each stopped (this host emulates every ring-0
instruction, kvm-here.md, so a full boot takes minutes or stops on an
instruction the host cannot emulate). QEMU gets the CPU features hidden
that blimp-vmm hides (-cx16, -xsave, -popcnt)."""
import json
import os
import select
import subprocess
import tempfile
import time

import vmm_runner

LINUX_DIR = os.environ.get("BLIMP_LINUX_DIR", os.path.join(vmm_runner.ROOT, "build/guest-linux"))
CMDLINE = ("console=ttyS0 earlyprintk=serial,ttyS0 clearcpuid=smap noxsave mitigations=off init_on_alloc=0 no_timer_check "
           "tsc=reliable lpj=4000000 nokaslr audit=0 ftrace=nop "
           "initcall_blacklist=ftrace_check_for_weak_functions")
MILESTONES = [
    ("Linux version", "Linux version"),
    ("e820 map printed", "BIOS-e820"),
    ("Memory: (buddy allocator up)", "Memory: "),
    ("console on ttyS0", "printk: console [ttyS0] enabled"),
    ("early FPU set-up", "x86/fpu:"),
    ("SMP/CPU0 up", "smpboot: CPU0:"),
    ("devtmpfs", "devtmpfs: initialized"),
    ("kvm-clock clocksource", "Switched to clocksource kvm-clock"),
    ("IPv4 (PF_INET)", "NET: Registered PF_INET protocol family"),
    ("initramfs unpacking", "Trying to unpack rootfs image"),
    ("init freed (userspace next)", "Freeing unused kernel image"),
    ("BLIMP-GUEST-READY", "BLIMP-GUEST-READY"),
]


def boot(argv, timeout):
    """Seconds to each milestone (None if not reached) and the stop reason."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, bufsize=0)
    times, out, err = {}, b"", b""
    reason = f"timeout after {timeout:.0f} s"
    try:
        while time.monotonic() - start < timeout and len(times) < len(MILESTONES):
            ready, _, _ = select.select([proc.stdout, proc.stderr], [], [], 1.0)
            if proc.stderr in ready:
                err += os.read(proc.stderr.fileno(), 65536)
            if proc.stdout in ready:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    reason = "VMM exited"
                    break
                out += chunk
            for label, needle in MILESTONES:
                if label not in times and needle.encode() in out:
                    times[label] = time.monotonic() - start
        else:
            if len(times) == len(MILESTONES):
                reason = "reached BLIMP-GUEST-READY"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        err += proc.stderr.read() or b""
    for line in err.decode(errors="replace").splitlines():
        if "cannot run the guest's instruction" in line or "emulation failure" in line.lower():
            reason = line.split("] ", 1)[-1]
    return times, reason


def run(runs=1, timeout=float(os.environ.get("BLIMP_LINUX_BENCH_TIMEOUT", "240"))):
    vmlinux = os.path.join(LINUX_DIR, "vmlinux")
    initrd = os.path.join(LINUX_DIR, "initramfs.cpio.gz")
    if not os.path.exists(vmlinux):
        raise SystemExit(f"{vmlinux} missing: run tests/guest/linux/build_image.sh")
    config = {
        "boot-source": {"kernel_image_path": vmlinux, "initrd_path": initrd,
                        "boot_args": CMDLINE},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 256},
    }
    f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(config, f)
    f.close()
    blimp, blimp_reason = boot([vmm_runner.BLIMP_VMM, "--config-file", f.name], timeout)
    qemu, qemu_reason = boot(
        ["qemu-system-x86_64", "-M", "microvm", "-enable-kvm",
         "-cpu", "host,-arch-capabilities,-cx16,-xsave,-popcnt", "-m", "256", "-smp", "1",
         "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
         "-kernel", vmlinux, "-initrd", initrd, "-append", CMDLINE], timeout)
    os.unlink(f.name)
    rows = [(f"s to '{label}'", blimp.get(label), qemu.get(label)) for label, _ in MILESTONES]
    note = (f"1 vCPU, 256 MiB, one boot each, {timeout:.0f} s cap; "
            f"Blimp stopped: {blimp_reason}; QEMU stopped: {qemu_reason}")
    return rows, note

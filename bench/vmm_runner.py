"""Starts blimp-vmm or QEMU on the same guest file and talks to its console.

Shared by the benchmarks: both VMMs boot the Blimp test guest (QEMU through
PVH on -M microvm), print BLIMP-GUEST-READY, and run shell commands.
"""
import json
import os
import select
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLIMP_VMM = os.path.join(ROOT, "bazel-bin/vmm/blimp-vmm")
TEST_GUEST = os.path.join(ROOT, "bazel-bin/tests/guest/test_guest.elf")


class Console:
    """A VMM process with its serial console on pipes."""

    def __init__(self, argv):
        self.start = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, bufsize=0)
        self.buffer = b""

    def wait_for(self, needle, timeout=60.0):
        """Seconds from process start until a line containing `needle`."""
        deadline = time.monotonic() + timeout
        needle = needle.encode()
        while needle not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {needle!r} in {self.buffer[-500:]!r}")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise EOFError(f"console closed: {self.buffer[-500:]!r}")
                self.buffer += chunk
        elapsed = time.monotonic() - self.start
        self.buffer = self.buffer[self.buffer.index(needle) + len(needle):]
        return elapsed

    def command(self, line, timeout=60.0):
        """Runs a shell command; returns its output lines (ending ok/error)."""
        self.proc.stdin.write(line.encode() + b"\n")
        lines = []
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\n", 1)
                text = raw.decode(errors="replace").strip()
                if not text or text == line:
                    continue
                lines.append(text)
                if text == "ok" or text.startswith("error:"):
                    return lines
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{line!r} did not finish: {lines}")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise EOFError(f"console closed during {line!r}")
                self.buffer += chunk

    def rss_bytes(self):
        with open(f"/proc/{self.proc.pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGESIZE")

    def guest_ram_rss_bytes(self, mem_mib):
        """RSS of the mappings at least as large as the guest RAM."""
        total = 0
        size = None
        with open(f"/proc/{self.proc.pid}/smaps") as f:
            for line in f:
                parts = line.split()
                if "-" in parts[0] and len(parts) >= 5:
                    lo, hi = (int(x, 16) for x in parts[0].split("-"))
                    size = hi - lo
                elif parts[0] == "Rss:" and size is not None and size >= mem_mib << 20:
                    total += int(parts[1]) * 1024
        return total

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def blimp(vcpus, mem_mib, balloon=None, extra=()):
    config = {
        "boot-source": {"kernel_image_path": TEST_GUEST, "boot_args": "console=ttyS0"},
        "machine-config": {"vcpu_count": vcpus, "mem_size_mib": mem_mib},
    }
    if balloon is not None:
        config["balloon"] = balloon
    f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(config, f)
    f.close()
    return Console([BLIMP_VMM, "--config-file", f.name, *extra])


def qemu(vcpus, mem_mib, extra=(), machine="microvm"):
    return Console(["qemu-system-x86_64", "-M", machine, "-enable-kvm",
                    "-cpu", "host,-arch-capabilities", "-m", str(mem_mib), "-smp", str(vcpus),
                    "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
                    "-kernel", TEST_GUEST, "-append", "console=ttyS0", *extra])

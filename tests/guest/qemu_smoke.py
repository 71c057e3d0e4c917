#!/usr/bin/env python3
"""Boots the test guest under QEMU (-M microvm, KVM, PVH entry) and drives
its serial shell. Usage: qemu_smoke.py GUEST_ELF MEM_MIB CPUS"""
import os
import re
import select
import subprocess
import sys
import time


class Guest:
    def __init__(self, elf, mem, cpus):
        self.mem = mem
        cmd = ["qemu-system-x86_64", "-M", "microvm", "-enable-kvm",
               "-cpu", "host,-arch-capabilities", "-m", str(mem),
               "-smp", str(cpus), "-nodefaults", "-no-user-config",
               "-display", "none", "-serial", "stdio", "-no-reboot",
               "-kernel", elf, "-append", "console=ttyS0 foo=bar"]
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.buf = b""
        self.log = []

    def line(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no output; log so far:\n" + "\n".join(self.log))
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 4096)
                if not chunk:
                    raise EOFError("qemu exited; log:\n" + "\n".join(self.log))
                self.buf += chunk
        l, self.buf = self.buf.split(b"\n", 1)
        s = l.decode(errors="replace").rstrip("\r")
        self.log.append(s)
        return s

    def wait_for(self, text, timeout=20):
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            l = self.line(deadline)
            lines.append(l)
            if l == text:
                return lines

    def cmd(self, command, timeout=10):
        """Sends one command; returns (output lines, final 'ok'/'error: ...')."""
        self.p.stdin.write(command.encode() + b"\n")
        self.p.stdin.flush()
        deadline = time.monotonic() + timeout
        out = []
        while True:
            l = self.line(deadline)
            if l == "ok" or l.startswith("error:"):
                return out, l
            out.append(l)


def check(cond, what, g):
    if not cond:
        print("FAIL: %s\n--- serial log ---\n%s" % (what, "\n".join(g.log)))
        g.p.kill()
        sys.exit(1)


def mem_counters(g):
    out, st = g.cmd("mem")
    check(st == "ok" and len(out) == 1, "mem answers", g)
    m = re.fullmatch(r"mem: total_pages=(\d+) free_pages=(\d+) used_pages=(\d+)", out[0])
    check(m is not None, "mem format: %r" % out, g)
    return [int(x) for x in m.groups()]


def run(elf, mem, cpus):
    t0 = time.monotonic()
    g = Guest(elf, mem, cpus)
    boot = g.wait_for("BLIMP-GUEST-READY")
    ready_s = time.monotonic() - t0
    check(any(l.startswith("cmdline: ") and "foo=bar" in l for l in boot), "cmdline printed", g)
    check(any(l.startswith("e820: ") for l in boot), "e820 printed", g)
    check("cpus: %d" % cpus in boot, "cpus: %d before READY" % cpus, g)

    total, free, used = mem_counters(g)
    ram_pages = mem * 256
    # Not managed: the first MiB (256 pages) and the guest image (< 1 MiB).
    check(ram_pages - 256 - 512 <= total <= ram_pages - 256, "total_pages %d vs %d MiB" % (total, mem), g)
    check(used == 0 and free == total, "fresh allocator", g)

    n = 100 if mem >= 256 else 16
    out, st = g.cmd("touch %d" % n)
    check(st == "ok" and out and out[0].startswith("touched: %d MiB in " % n), "touch %d" % n, g)
    us = int(re.search(r"in (\d+) us", out[0]).group(1))
    check(us < 1000000, "touch %d took %d us" % (n, us), g)
    total2, free2, used2 = mem_counters(g)
    check(used2 == n * 256 and free2 == total - n * 256 and total2 == total, "used_pages=%d after touch" % used2, g)
    out, st = g.cmd("free %d" % n)
    check(st == "ok", "free %d" % n, g)
    check(mem_counters(g)[2] == 0, "used_pages=0 after free", g)

    out, st = g.cmd("echo hi")
    check(st == "ok" and out == ["hi"], "echo hi: %r" % out, g)
    out, st = g.cmd("xyz")
    check(st == "error: unknown command 'xyz'", "unknown command", g)
    out, st = g.cmd("cpus")
    check(st == "ok" and out == ["cpus: %d" % cpus], "cpus", g)
    out, st = g.cmd("sleep 200")
    check(st == "ok", "sleep", g)

    g.p.stdin.write(b"poweroff\n")
    g.p.stdin.flush()
    try:
        rc = g.p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        check(False, "poweroff within 5 s", g)
    check(rc == 0, "qemu exit status %d" % rc, g)
    print("PASS mem=%d cpus=%d: READY after %.2f s, touch %d MiB in %d us"
          % (mem, cpus, ready_s, n, us))


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))

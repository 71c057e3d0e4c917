#!/usr/bin/env python3
"""Drives the test guest's virtio balloon driver under QEMU (-M microvm,
acpi=off, virtio-mmio v2, KVM) through QMP: inflate/deflate with RSS,
deflate-on-oom, out of puff, statistics, free page reporting and every
`hostile` case. Usage: qemu_balloon.py GUEST_ELF"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qemu_smoke import Guest, check  # noqa: E402

MIB = 1 << 20
BALLOON_RE = re.compile(r"balloon: target_pages=(\d+) actual_pages=(\d+) features=0x([0-9a-f]+) "
                        r"inflated_pages=(\d+) deflated_pages=(\d+) reported_pages=(\d+) out_of_puff=(\d+) "
                        r"deflated_nonzero=(\d+) hinted_pages=(\d+) late_hint_kicks=(\d+) "
                        r"late_report_kicks=(\d+)")
HOSTILE = ["pfn-outside-ram", "odd-length", "write-only-inflate", "desc-loop", "desc-out-of-range",
           "next-out-of-range", "avail-idx-jump", "bogus-stat-tags", "queue-addr-out-of-range",
           "interrupt-storm", "config-write"]


class BalloonGuest(Guest):
    def __init__(self, elf, mem, device):
        self.mem = mem
        self.dir = tempfile.mkdtemp(prefix="qemu_balloon")
        self.qmp_path = os.path.join(self.dir, "qmp.sock")
        cmd = ["qemu-system-x86_64", "-M", "microvm,acpi=off", "-enable-kvm",
               "-cpu", "host,-arch-capabilities", "-m", str(mem), "-nodefaults",
               "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
               "-kernel", elf, "-append", "console=ttyS0",
               # QEMU 7.2's microvm defaults to legacy virtio-mmio (version 1).
               "-global", "virtio-mmio.force-legacy=false",
               "-device", device, "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path]
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        self.buf = b""
        self.log = []
        self.async_lines = []

    def qmp_connect(self):
        for _ in range(100):
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.qmp_path)
                break
            except OSError:
                time.sleep(0.05)
        self.q = s.makefile("rw")
        json.loads(self.q.readline())
        self.qmp("qmp_capabilities")

    def qmp(self, command, **args):
        msg = {"execute": command}
        if args:
            msg["arguments"] = args
        self.q.write(json.dumps(msg) + "\n")
        self.q.flush()
        while True:
            r = json.loads(self.q.readline())
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise RuntimeError("QMP %s: %s" % (command, r["error"]))

    def cmd(self, command, timeout=20):
        """Like Guest.cmd, but sets aside the driver's asynchronous lines
        (Out of puff!) and QEMU's own error messages."""
        out, st = Guest.cmd(self, command, timeout)
        keep = []
        for l in out:
            if l.startswith("Out of puff!") or l.startswith("qemu-system-x86_64:"):
                self.async_lines.append(l)
            else:
                keep.append(l)
        return keep, st

    def rss_mib(self):
        with open("/proc/%d/status" % self.p.pid) as f:
            return int(f.read().split("VmRSS:")[1].split()[0]) // 1024

    def balloon(self):
        out, st = self.cmd("balloon")
        check(st == "ok" and len(out) == 1 and BALLOON_RE.fullmatch(out[0]), "balloon format: %r %r" % (out, st), self)
        m = BALLOON_RE.fullmatch(out[0])
        keys = ["target", "actual", "features", "inflated", "deflated", "reported", "puff", "nonzero",
                "hinted", "late_hint", "late_report"]
        vals = [int(x, 16) if k == "features" else int(x) for k, x in zip(keys, m.groups())]
        return dict(zip(keys, vals))

    def set_target(self, keep_mib, timeout=20):
        """QMP balloon (guest keeps keep_mib); waits until QEMU sees it done."""
        t0 = time.monotonic()
        self.qmp("balloon", value=keep_mib * MIB)
        while self.qmp("query-balloon")["actual"] != keep_mib * MIB:
            check(time.monotonic() - t0 < timeout, "balloon to %d MiB within %d s (%r)"
                  % (keep_mib, timeout, self.qmp("query-balloon")), self)
            time.sleep(0.002)
        return time.monotonic() - t0

    def kill(self):
        self.p.kill()
        self.p.wait()


def boot(elf, device, mem=512):
    g = BalloonGuest(elf, mem, device)
    lines = g.wait_for("BLIMP-GUEST-READY")
    g.qmp_connect()
    m = [l for l in lines if l.startswith("virtio-balloon: ")]
    check(len(m) == 1 and "features=0x" in m[0], "virtio-balloon boot line: %r" % m, g)
    return g


def run_a(elf):
    """deflate-on-oom, no reporting: RSS follows inflate, OOM deflates."""
    g = boot(elf, "virtio-balloon-device,id=balloon0,deflate-on-oom=on")
    b = g.balloon()
    check(b["features"] == 0x100000006 and b["target"] == 0 and b["actual"] == 0, "fresh balloon %r" % b, g)
    # Make the host hold the guest's memory, then give it to the allocator.
    _, st = g.cmd("touch 450")
    check(st == "ok", "touch 450", g)
    _, st = g.cmd("free 450")
    rss0 = g.rss_mib()
    t_in = g.set_target(384)
    b = g.balloon()
    check(b["target"] == 32768 and b["actual"] == 32768, "inflated by 128 MiB: %r" % b, g)
    rss1 = g.rss_mib()
    check(rss0 - rss1 >= 100, "RSS fell by >= 100 MiB on inflate (%d -> %d MiB)" % (rss0, rss1), g)
    t_out = g.set_target(512)
    b = g.balloon()
    check(b["actual"] == 0 and b["deflated"] == 32768, "deflated back: %r" % b, g)
    print("PASS inflate 128 MiB in %.3f s (RSS %d -> %d MiB), deflate in %.3f s" % (t_in, rss0, rss1, t_out))

    # Statistics: QEMU polls every second once asked to.
    dev = "/machine/peripheral/balloon0"
    g.qmp("qom-set", path=dev, property="guest-stats-polling-interval", value=1)
    g.cmd("sleep 1500")
    stats = g.qmp("qom-get", path=dev, property="guest-stats")["stats"]
    out, st = g.cmd("mem")
    total = int(re.search(r"total_pages=(\d+)", out[0]).group(1))
    check(stats["stat-total-memory"] == total * 4096 and stats["stat-minor-faults"] > 0,
          "guest stats %r" % stats, g)
    print("PASS stats: total=%d free=%d minor_faults=%d" % (stats["stat-total-memory"],
          stats["stat-free-memory"], stats["stat-minor-faults"]))

    # Deflate on OOM: a 256 MiB balloon, then touch 400 MiB.
    g.set_target(256)
    out, st = g.cmd("touch 400", 60)
    check(st == "ok", "touch 400 with a 256 MiB balloon and deflate-on-oom: %r %r" % (out, st), g)
    b = g.balloon()
    check(b["actual"] < 65536 and b["target"] == 65536, "balloon gave pages back on OOM: %r" % b, g)
    print("PASS deflate-on-oom: touch 400 MiB ok, balloon %d -> %d pages" % (65536, b["actual"]))
    g.cmd("free 400")
    g.set_target(512)

    # Out of puff: the guest cannot give 511 MiB.
    start = time.monotonic()
    g.qmp("balloon", value=1 * MIB)
    b = g.balloon()
    while b["puff"] < 3 and time.monotonic() - start < 10:
        g.cmd("sleep 200")
        b = g.balloon()
    elapsed = time.monotonic() - start
    puffs = [l for l in g.async_lines if re.fullmatch(r"Out of puff! Can't get \d+ pages", l)]
    # It keeps retrying, but not more often than every 0.2 s.
    check(3 <= b["puff"] <= elapsed / 0.2 + 2 and puffs,
          "out of puff every 0.2 s: %r in %.1f s, %r" % (b, elapsed, puffs), g)
    g.set_target(512)
    print("PASS out of puff: %d retries in %.1f s, %r" % (b["puff"], elapsed, puffs[0]))
    g.kill()


def run_b(elf):
    """free page reporting, no deflate-on-oom, and the hostile cases."""
    g = boot(elf, "virtio-balloon-device,id=balloon0,free-page-reporting=on")
    b = g.balloon()
    check(b["features"] == 0x100000022, "features %r" % b, g)
    _, st = g.cmd("touch 300")
    rss0 = g.rss_mib()
    check(st == "ok" and rss0 >= 290, "touch 300: RSS %d MiB" % rss0, g)
    _, st = g.cmd("free 300")
    t0 = time.monotonic()
    while g.rss_mib() > rss0 - 250 and time.monotonic() - t0 < 5:
        time.sleep(0.01)
    rss1 = g.rss_mib()
    b = g.balloon()
    check(rss0 - rss1 >= 250 and b["reported"] >= 300 * 256, "reporting dropped RSS %d -> %d: %r"
          % (rss0, rss1, b), g)
    print("PASS free page reporting: RSS %d -> %d MiB in %.2f s" % (rss0, rss1, time.monotonic() - t0))

    g.set_target(256)
    out, st = g.cmd("touch 400", 60)
    check(st.startswith("error: out of memory"), "touch 400 fails without deflate-on-oom: %r" % st, g)
    b = g.balloon()
    check(b["actual"] == 65536, "balloon kept its pages: %r" % b, g)
    g.set_target(512)
    print("PASS no deflate-on-oom: %s, balloon kept 65536 pages" % st)

    for case in HOSTILE:
        t0 = time.monotonic()
        out, st = g.cmd("hostile " + case)
        check(st == "ok" and out and out[-1] == "hostile: %s sent" % case, "hostile %s: %r %r" % (case, out, st), g)
        dt = time.monotonic() - t0
        g.set_target(512 - 16)
        b = g.balloon()
        check(b["actual"] == 4096, "balloon works after hostile %s: %r" % (case, b), g)
        g.set_target(512)
        print("PASS hostile %s (%.2f s)%s" % (case, dt, "".join("; " + l for l in out[:-1])))
    g.kill()


if __name__ == "__main__":
    run_a(sys.argv[1])
    run_b(sys.argv[1])
    print("qemu_balloon: all passed")

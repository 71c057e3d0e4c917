#!/usr/bin/env python3
"""Prints every benchmark table: Blimp vs QEMU (-M microvm) booting the same
guest file, measured in the same run. See BENCHMARKS.md.

  python3 bench/run.py [--runs N] [--only boot,balloon,reclaim,api,enforcement,snapshot,linux]
                      [--before DIR]

--before DIR: a copy of an earlier bazel-bin (daemon/blimpd, vmm/blimp-vmm,
bench/api_bench) that the api section measures in the same run as the peer.
"""
import argparse
import os
import platform
import subprocess

import balloon_bench
import boot_bench
import daemon_bench
import enforcement_bench
import reclaim_bench
import snapshot_bench
import linux_bench

SECTIONS = {
    "boot": boot_bench.run,
    "balloon": balloon_bench.run,
    "reclaim": reclaim_bench.run,
    "api": daemon_bench.run,
    "enforcement": enforcement_bench.run,
    "snapshot": snapshot_bench.run,
    "linux": linux_bench.run,
}
# Minutes long (real Linux on this host): only with --only linux.
OPT_IN = {"linux"}


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    kvm = "PVM-based KVM (kvm_pvm)" if os.path.exists("/sys/module/kvm_pvm") else "KVM"
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                          text=True).stdout.splitlines()[0]
    return f"{os.cpu_count()} x {cpu}, {kvm}, Linux {platform.release()}, {qemu}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default=",".join(k for k in SECTIONS if k not in OPT_IN))
    parser.add_argument("--before", help="an earlier bazel-bin copy for the api section")
    args = parser.parse_args()
    print(f"Machine: {machine()}\n")
    for name in args.only.split(","):
        extra = {"before": args.before} if name == "api" and args.before else {}
        rows, note = SECTIONS[name](runs=args.runs, **extra)
        print(f"### {name} ({note})\n")
        if isinstance(rows, str):  # A section with its own table.
            print(rows + "\n")
            continue
        print("| measure | Blimp | QEMU | Blimp/QEMU |")
        print("|---|---|---|---|")
        for label, blimp, qemu in rows:  # None: not reached.
            ratio = f"{blimp / qemu:.2f}" if blimp is not None and qemu else "-"
            shown = ["-" if v is None else f"{v:.1f}" for v in (blimp, qemu)]
            print(f"| {label} | {shown[0]} | {shown[1]} | {ratio} |")
        print()


if __name__ == "__main__":
    main()

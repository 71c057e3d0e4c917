"""Boot time and VMM memory overhead: blimp-vmm vs QEMU -M microvm, same
guest file, vCPUs and memory, medians over several runs."""
import statistics

import vmm_runner


def measure(start, runs, vcpus, mem_mib):
    boot, overhead = [], []
    for _ in range(runs):
        vm = start(vcpus, mem_mib)
        try:
            boot.append(vm.wait_for("BLIMP-GUEST-READY"))
            vm.command("echo settle")
            overhead.append(vm.rss_bytes() - vm.guest_ram_rss_bytes(mem_mib))
        finally:
            vm.stop()
    return statistics.median(boot), statistics.median(overhead)


def run(runs=5, vcpus=1, mem_mib=256):
    blimp_boot, blimp_over = measure(vmm_runner.blimp, runs, vcpus, mem_mib)
    qemu_boot, qemu_over = measure(vmm_runner.qemu, runs, vcpus, mem_mib)
    rows = [
        ("boot: process start to BLIMP-GUEST-READY (ms)", blimp_boot * 1e3, qemu_boot * 1e3),
        ("VMM overhead: RSS minus guest RAM RSS (MiB)", blimp_over / 2**20, qemu_over / 2**20),
    ]
    return rows, f"{vcpus} vCPU, {mem_mib} MiB, median of {runs}"

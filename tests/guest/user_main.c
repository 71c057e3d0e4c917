/* Ring 3 start-up (everything after the ring-0 core handed over): boot info,
 * ACPI, clocks, interrupt routing, page allocator, SMP, then the shell. */
#include "user.h"

extern const char *clock_source;

void user_main(void) {
  memset(__bss_start, 0, (size_t)(__bss_end - __bss_start));
  bootinfo_read();
  const char *cl = bootinfo.cmdline;
  char v[16];
  use_int80 = !(cmdline_get(cl, "blimp.syscall", v, sizeof(v)) && !strcmp(v, "syscall"));
  uart_crlf = cmdline_flag(cl, "blimp.echo", 0);
  uart_init();
  kprintf("blimp test guest (%s entry)\n", boot_kind == BOOT_PVH ? "pvh" : "linux64");
  kprintf("cmdline: %s\n", cl);
  for (uint32_t i = 0; i < bootinfo.e820_count; i++) {
    const struct e820_entry *e = &bootinfo.e820[i];
    kprintf("e820: 0x%016lx-0x%016lx %u\n", e->addr, e->addr + e->size - 1, e->type);
  }
  acpi_init(bootinfo.rsdp);
  kprintf("acpi: rsdp=0x%lx dsdt=0x%lx cpus=%u ioapic=0x%lx hw_reduced=%d sleep=%d reset=%d\n", acpi.rsdp,
          acpi.dsdt, acpi.ncpus, acpi.ioapic, acpi.hw_reduced, acpi.has_sleep_ctl, acpi.has_reset);
  /* Devices come from the command line (acpi=off) or else the DSDT. */
  struct virtio_mmio_dev vdev[8];
  int nv = cmdline_virtio_mmio(cl, vdev, 8);
  const char *from = "cmdline";
  if (nv == 0) {
    nv = acpi_virtio_mmio(vdev, 8);
    from = "acpi";
  }
  for (int i = 0; i < nv; i++)
    kprintf("virtio_mmio: base=0x%lx size=0x%lx irq=%u (%s)\n", vdev[i].base, vdev[i].size, vdev[i].irq,
            from);
  uint64_t t0 = rdtsc();
  sys_call(SYS_NOP, 0, 0, 0);
  uint64_t t1 = rdtsc();
  clock_calibrate();
  kprintf("clock: tsc=%lu kHz apic=%lu kHz (%s), syscall via %s: %lu ns\n", tsc_hz / 1000, apic_hz / 1000,
          clock_source, use_int80 ? "int 0x80" : "syscall", (t1 - t0) * 1000000 / (tsc_hz / 1000));
  irq_setup();
  pagealloc_init();
  kprintf("mem: total_pages=%lu\n", pages_total());
  balloon_init(vdev, nv);
  if (cmdline_flag(cl, "blimp.smp", 1)) smp_start();
  kprintf("cpus: %u\n", cpus_online);
  kprintf("boot: %lu ms\n", now_us() / 1000);
  kprintf("BLIMP-GUEST-READY\n");
  shell_run();
}

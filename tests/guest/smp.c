/* Brings the MADT's other CPUs online, one at a time, from ring 3 (the
 * LAPIC ICR is user-mapped): copy the real-mode trampoline below 1 MiB,
 * INIT, then SIPI (twice if needed); the AP enters long mode, prints
 * "cpu N online" in ring 0, stores N in ap_online and idles in hlt. */
#include "user.h"

#define ICR_LO (LAPIC_BASE + 0x300)
#define ICR_HI (LAPIC_BASE + 0x310)

uint32_t cpus_online = 1;

static void send_ipi(uint32_t apic_id, uint32_t lo) {
  mmio_write32(ICR_HI, apic_id << 24);
  mmio_write32(ICR_LO, lo);
  for (int i = 0; i < 100000 && (mmio_read32(ICR_LO) & (1u << 12)); i++) cpu_relax();
}

static int wait_online(uint32_t n, uint64_t us) {
  uint64_t end = now_us() + us;
  while (now_us() < end)
    if (ap_online == n) return 1;
  return ap_online == n;
}

void smp_start(void) {
  if (acpi.ncpus <= 1) return;
  uint32_t me = mmio_read32(LAPIC_BASE + 0x20) >> 24;
  memcpy((void *)AP_TRAMPOLINE, ap_trampoline_start, (size_t)(ap_trampoline_end - ap_trampoline_start));
  for (uint32_t i = 0; i < acpi.ncpus && cpus_online < MAX_CPUS; i++) {
    uint32_t id = acpi.apic_ids[i];
    if (id == me) continue;
    uint32_t n = cpus_online;
    ap_index = n;
    ap_stack_top = (uint64_t)ap_stacks + (uint64_t)APSTACK_SIZE * (n + 1);
    send_ipi(id, 0x4500);  /* INIT, assert */
    spin_us(10000);
    int ok = 0;
    for (int tries = 0; tries < 2 && !ok; tries++) {
      send_ipi(id, 0x4600 | (AP_TRAMPOLINE >> 12));  /* SIPI */
      ok = wait_online(n, tries ? 1000000 : 200000);
    }
    if (ok) cpus_online++;
    else kprintf("cpu %u (apic %u) did not come online\n", n, id);
  }
}

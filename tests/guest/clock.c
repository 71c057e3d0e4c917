/* Clocks, in ring 3: calibrates the TSC and the LAPIC timer against PIT
 * channel 2 (20 ms gate, timed in one ring-0 call); without a PIT it trusts KVM's
 * default 1 GHz APIC timer and measures the TSC against that. now_us() and
 * sleeps use the TSC; sleeping blocks in the kernel (sti; hlt). */
#include "user.h"

#define PIT_HZ 1193182u
#define APIC_CCR (LAPIC_BASE + 0x390)

uint64_t tsc_hz, apic_hz;
const char *clock_source = "none";

static uint64_t muldiv(uint64_t a, uint64_t mul, uint64_t div) {
  return a / div * mul + a % div * mul / div;
}

static int pit_calibrate(void) {
  const uint32_t latch = PIT_HZ / 50;  /* 20 ms */
  struct pit_sample ps;
  sys_call(SYS_PIT_WAIT, latch, (uint64_t)&ps, 0);
  if (!ps.ok) return 0;
  tsc_hz = muldiv(ps.tsc, PIT_HZ, latch);
  apic_hz = muldiv(ps.apic, PIT_HZ, latch);
  return tsc_hz > 100000000ull && apic_hz > 1000000ull;
}

static void apic_calibrate(void) {
  apic_hz = 1000000000ull;
  uint32_t a0 = mmio_read32(APIC_CCR);
  uint64_t t0 = rdtsc();
  uint32_t a1;
  while (a0 - (a1 = mmio_read32(APIC_CCR)) < 10000000u) cpu_relax();
  tsc_hz = muldiv(rdtsc() - t0, apic_hz, a0 - a1);
}

void clock_calibrate(void) {
  if (pit_calibrate()) {
    clock_source = "pit";
  } else {
    apic_calibrate();
    clock_source = "apic-1ghz";
  }
}

uint64_t tsc_to_us(uint64_t d) { return muldiv(d, 1000000, tsc_hz); }
uint64_t now_us(void) { return tsc_to_us(rdtsc() - boot_tsc); }

void spin_us(uint64_t us) {
  uint64_t end = rdtsc() + muldiv(us, tsc_hz, 1000000);
  while (rdtsc() < end) cpu_relax();
}

void sleep_ms(uint64_t ms) {
  uint64_t deadline = rdtsc() + muldiv(ms, tsc_hz, 1000);
  while (rdtsc() < deadline) sys_call(SYS_WAIT, irq_seq, deadline, 0);
}

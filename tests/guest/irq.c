/* Interrupt routing, decided in ring 3 from the ACPI tables and carried
 * out by short system calls: the LAPIC timer tick and the UART's ISA IRQ 4
 * through the IOAPIC to this CPU. */
#include "user.h"

#define TICK_HZ 100

static void route_isa(unsigned irq, unsigned vector, uint32_t dest_apic) {
  uint32_t gsi = acpi.isa_gsi[irq];
  uint16_t flags = acpi.isa_flags[irq];
  uint64_t entry = vector;
  if ((flags & 3) == 3) entry |= 1u << 13;         /* active low */
  if (((flags >> 2) & 3) == 3) entry |= 1u << 15;  /* level triggered */
  entry |= (uint64_t)dest_apic << 56;
  uint64_t ioapic = acpi.ioapic ? acpi.ioapic : 0xfec00000;
  sys_call(SYS_IOAPIC_ROUTE, ioapic, gsi - acpi.ioapic_gsi_base, entry);
}

void irq_setup(void) {
  sys_call(SYS_TIMER_START, apic_hz / TICK_HZ, 0, 0);
  uint32_t me = mmio_read32(LAPIC_BASE + 0x20) >> 24;
  route_isa(4, VEC_UART, me);
  uart_enable_rx_irq();
}

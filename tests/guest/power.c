/* Power off and reset, from ring 3 (I/O ports via IOPL=3, MMIO user-mapped).
 * poweroff: ACPI hw-reduced SLEEP_CONTROL_REG <- SLP_TYP(5) | SLP_EN.
 * reboot: FADT RESET_REG, else the i8042 reset line, else a triple fault. */
#include "user.h"

void power_off(void) {
  if (acpi.has_sleep_ctl) gas_write(&acpi.sleep_ctl, (5u << 2) | (1u << 5));
}

void power_reboot(void) {
  if (acpi.has_reset) {
    gas_write(&acpi.reset_reg, acpi.reset_value);
    sleep_ms(200);
  }
  uoutb(0x64, 0xfe);
  sleep_ms(200);
  sys_call(SYS_TRIPLE_FAULT, 0, 0, 0);
}

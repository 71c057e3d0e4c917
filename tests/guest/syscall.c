/* Ring-3 system-call stub.
 *
 * Measured on this machine's PVM-based KVM (kvm_pvm, non-PVM-aware guest):
 *  - `syscall` from ring 3 jumps to LSTAR with FMASK applied, but PVM keeps
 *    the vCPU in user mode (CS=0x23): the first privileged instruction in
 *    the "kernel" then raises #GP. Unusable.
 *  - `int $0x80` through a DPL-3 interrupt gate raises #UD instead.
 *  - Exceptions from ring 3 are delivered through our IDT into ring 0.
 * So the default is `int $0x80`, and the #UD handler (entry.S ud_entry)
 * recognises the cd 80 opcode and runs the system call; on a KVM that
 * delivers int 0x80 normally the gate is taken directly. A round trip costs
 * ~100 us here (the ring-0 part is emulated). `blimp.syscall=syscall`
 * selects syscall/sysret for KVMs where that works.
 * Both entries preserve every register except rax (result), rcx and r11.
 * IOPL=3 is not honoured for ring 3 either (`out` raises #GP), so port I/O
 * is done by system calls too (SYS_PIO_*, SYS_UART_*). */
#include "user.h"

int use_int80 = 1;

uint64_t sys_call(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2) {
  uint64_t ret;
  if (use_int80)
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1), "d"(a2) : "rcx", "r11", "memory");
  else
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1), "d"(a2) : "rcx", "r11", "memory");
  return ret;
}

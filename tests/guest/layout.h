/* Fixed numbers shared by the assembly and C parts of the guest. */
#ifndef BLIMP_GUEST_LAYOUT_H_
#define BLIMP_GUEST_LAYOUT_H_

/* GDT selectors. The order kdata, udata, ucode is what sysret needs. */
#define SEL_KCODE   0x08
#define SEL_KDATA   0x10
#define SEL_UDATA   0x1b  /* 0x18 | RPL 3 */
#define SEL_UCODE   0x23  /* 0x20 | RPL 3 */
#define SEL_TSS     0x28  /* 16-byte descriptor: 0x28 and 0x30 */
#define SEL_KCODE32 0x38  /* 32-bit code for the PVH / AP paths */

/* Interrupt vectors. */
#define VEC_TIMER    0x20
#define VEC_IRQ_BASE 0x21  /* 0x21..0x2f: device interrupts (wake waiters) */
#define VEC_IRQ_LAST 0x2f
#define VEC_UART     0x24
#define VEC_VIRTIO   0x30  /* virtio-mmio devices: masks its IOAPIC pin (level IRQs) */
#define VEC_SYSCALL  0x80
#define VEC_SPURIOUS 0xff

#define LAPIC_BASE   0xfee00000
#define AP_TRAMPOLINE 0x3000  /* page for the SMP real-mode trampoline */

#define BOOT_LINUX 1  /* RDI held boot_params */
#define BOOT_PVH   2  /* EBX held hvm_start_info */
#define BOOT_AP    3

#define KSTACK_SIZE 16384
#define USTACK_SIZE 65536
#define APSTACK_SIZE 4096
#define MAX_CPUS 32

/* System call numbers (rax). Arguments in rdi, rsi, rdx. */
#define SYS_NOP          0
#define SYS_WAIT         1  /* (irq_seq, tsc_deadline) */
#define SYS_TIMER_START  2  /* (apic initial count) */
#define SYS_IOAPIC_ROUTE 3  /* (ioapic base, pin, redirection entry) */
#define SYS_TRIPLE_FAULT 4
#define SYS_PIO_IN       5  /* (port, size 1/2/4) -> value */
#define SYS_PIO_OUT      6  /* (port, value, size 1/2/4) */
#define SYS_UART_WRITE   7  /* (buf, len) */
#define SYS_UART_READ    8  /* (buf, max) -> bytes read */
#define SYS_PIT_WAIT     9  /* (latch, struct pit_sample *) */

#endif

/* 64-bit entry (Linux x86-64 boot protocol), GDT, stacks, interrupt,
 * exception and system-call entry points. Ring 0 code is emulated by the
 * host on this KVM (~2 us per instruction), so every path here is short. */
#include "layout.h"

    .section .text.boot, "ax"
    .code64
/* Linux 64-bit boot protocol: long mode, RSI = boot_params. We install our
 * own GDT and page tables at once and do not touch the VMM's again. */
    .globl entry64
entry64:
    cli
    mov %rsi, %rdi
    mov $BOOT_LINUX, %esi
    /* fall through */

/* RDI = boot info pointer, ESI = BOOT_LINUX or BOOT_PVH. */
    .globl long_common
long_common:
    lgdt gdtr(%rip)
    mov $pml4, %eax
    mov %rax, %cr3
    mov $SEL_KDATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    lea kstack_top(%rip), %rsp
    pushq $SEL_KCODE
    lea 1f(%rip), %rax
    push %rax
    lretq
1:  mov %rdi, boot_info_ptr(%rip)
    mov %esi, boot_kind(%rip)
    call kmain              /* never returns: goes to ring 3 */
2:  cli
    hlt
    jmp 2b

    .globl ap_entry64
ap_entry64:
    mov $SEL_KDATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov ap_stack_top(%rip), %rsp
    mov $pml4, %eax
    mov %rax, %cr3
    call ap_main
3:  cli
    hlt
    jmp 3b

    .text
/* enter_user(rip, rsp): iretq to ring 3 with IF=1 and IOPL=3. */
    .globl enter_user
enter_user:
    pushq $SEL_UDATA
    push %rsi
    pushq $0x3202
    pushq $SEL_UCODE
    push %rdi
    iretq

/* Interrupt handlers are a few instructions each: count, EOI, return. */
    .globl timer_isr
timer_isr:
    push %rax
    incq ticks(%rip)
    mov $(LAPIC_BASE + 0xb0), %eax
    movl $0, (%rax)
    pop %rax
    iretq

/* Device interrupts (UART, later virtio): bump irq_seq so that a waiting
 * ring-3 loop wakes up and polls its device. */
    .globl irq_isr
irq_isr:
    push %rax
    incq irq_seq(%rip)
    mov $(LAPIC_BASE + 0xb0), %eax
    movl $0, (%rax)
    pop %rax
    iretq

/* virtio-mmio interrupt: QEMU's line is level-triggered and stays up until
 * the driver acks InterruptStatus (in ring 3), so mask the IOAPIC pin
 * before the EOI; ring 3 unmasks it after reading InterruptStatus. Our
 * VMM pulses the line (irqfd), which this handles the same way. */
    .globl virtio_isr
virtio_isr:
    push %rax
    push %rdx
    incq irq_seq(%rip)
    incq virtio_irqs(%rip)
    mov virtio_ioapic(%rip), %rax
    mov virtio_ioapic_sel(%rip), %edx
    movl %edx, (%rax)
    mov virtio_ioapic_lo(%rip), %edx
    orl $0x10000, %edx
    movl %edx, 0x10(%rax)
    movl $1, virtio_irq_masked(%rip)
    mov $(LAPIC_BASE + 0xb0), %eax
    movl $0, (%rax)
    pop %rdx
    pop %rax
    iretq

    .globl spurious_isr
spurious_isr:
    iretq

/* syscall: RCX = user RIP, R11 = user RFLAGS, IF cleared by FMASK. One CPU
 * runs ring 3, so one kernel stack suffices (shared with TSS.RSP0: ring 3
 * is never interrupted while a system call is in progress). */
    .globl syscall_entry
syscall_entry:
    mov %rsp, syscall_user_rsp(%rip)
    lea kstack_top(%rip), %rsp
    pushq syscall_user_rsp(%rip)
    push %rcx
    push %r11
    push %rdi
    push %rsi
    push %rdx
    push %r8
    push %r9
    push %r10
    sub $8, %rsp
    mov %rdx, %rcx
    mov %rsi, %rdx
    mov %rdi, %rsi
    mov %rax, %rdi
    call syscall_dispatch
    add $8, %rsp
    pop %r10
    pop %r9
    pop %r8
    pop %rdx
    pop %rsi
    pop %rdi
    pop %r11
    pop %rcx
    pop %rsp
    sysretq

/* int 0x80: same register convention, through an interrupt gate (DPL 3). */
    .globl int80_entry
int80_entry:
    push %rcx
    push %r11
    push %rdi
    push %rsi
    push %rdx
    push %r8
    push %r9
    push %r10
    sub $8, %rsp
    mov %rdx, %rcx
    mov %rsi, %rdx
    mov %rdi, %rsi
    mov %rax, %rdi
    call syscall_dispatch
    add $8, %rsp
    pop %r10
    pop %r9
    pop %r8
    pop %rdx
    pop %rsi
    pop %rdi
    pop %r11
    pop %rcx
    iretq

/* #UD: PVM turns `int $0x80` from ring 3 into #UD (measured, see
 * syscall.c). If the faulting instruction is int 0x80 (cd 80), step over it
 * and run the system call with the same frame an int 0x80 would have. */
    .globl ud_entry
ud_entry:
    push %rax
    mov 8(%rsp), %rax       /* faulting RIP */
    cmpw $0x80cd, (%rax)
    pop %rax
    jne exc_6
    addq $2, (%rsp)
    jmp int80_entry

/* Exceptions: push a uniform frame and report (fatal). */
.macro EXC num
exc_\num:
    .if (\num == 8) || (\num == 10) || (\num == 11) || (\num == 12) || (\num == 13) || (\num == 14) || (\num == 17) || (\num == 21) || (\num == 29) || (\num == 30)
    .else
    pushq $0
    .endif
    pushq $\num
    jmp exc_common
.endm
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    EXC \n
    .endr
exc_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    call exception_handler
4:  cli
    hlt
    jmp 4b

    .section .rodata
    .balign 8
    .globl exc_table
exc_table:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad exc_\n
    .endr

    .data
    .balign 16
/* null, kcode64, kdata, udata, ucode64, tss (2 slots, filled by kmain), kcode32 */
    .globl gdt, gdt_end, gdtr, tss_desc
gdt:
    .quad 0
    .quad 0x00af9a000000ffff
    .quad 0x00cf92000000ffff
    .quad 0x00cff2000000ffff
    .quad 0x00affa000000ffff
tss_desc:
    .quad 0
    .quad 0
    .quad 0x00cf9a000000ffff
gdt_end:
    .globl gdt_limit
    .set gdt_limit, gdt_end - gdt - 1
    .balign 8
    .word 0, 0, 0
gdtr:
    .word gdt_end - gdt - 1
    .quad gdt
syscall_user_rsp:
    .quad 0

    .section .stacks, "aw", @nobits
    .balign 4096
    .space KSTACK_SIZE
    .globl kstack_top
kstack_top:
    .space USTACK_SIZE
    .globl ustack_top
ustack_top:
    .globl ap_stacks
ap_stacks:
    .space APSTACK_SIZE * MAX_CPUS

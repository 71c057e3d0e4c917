/* Real-mode start-up code for application processors. Copied to
 * AP_TRAMPOLINE (below 1 MiB) and started there by a SIPI (CS = page >> 4,
 * IP = 0). It loads our GDT, turns protection on and jumps to ap_entry32
 * in the kernel image, which enters long mode. */
#include "layout.h"

    .section .rodata, "a"
    .code16
    .globl ap_trampoline_start, ap_trampoline_end
ap_trampoline_start:
    cli
    lgdtl %cs:(ap_gdtr - ap_trampoline_start)
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $SEL_KCODE32, $ap_entry32
    .balign 8
ap_gdtr:
    .word gdt_limit
    .long gdt
ap_trampoline_end:
    .code64

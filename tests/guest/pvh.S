/* PVH entry (QEMU boots the ELF through this) and the 32-bit -> long mode
 * switch shared with the SMP application processors. */
#include "layout.h"

/* XEN_ELFNOTE_PHYS32_ENTRY: name "Xen", type 18, 32-bit physical entry. */
    .section .note.Xen, "a"
    .balign 4
    .long 4, 4, 18
    .asciz "Xen"
    .long pvh_entry32

    .section .text.boot, "ax"
    .code32
/* 32-bit protected mode, paging off, EBX = struct hvm_start_info. */
    .globl pvh_entry32
pvh_entry32:
    cli
    mov %ebx, %edi
    mov $BOOT_PVH, %esi
    jmp pm32_to_long

/* AP: reached from the real-mode trampoline with our GDT loaded. */
    .globl ap_entry32
ap_entry32:
    mov $SEL_KDATA, %eax    /* DS still has its real-mode 64 KiB limit */
    mov %eax, %ds
    mov $BOOT_AP, %esi
    /* fall through */

/* EDI, ESI survive. Uses our static page tables (pagetables.S). */
pm32_to_long:
    lgdtl gdtr
    mov $SEL_KDATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %cr4, %eax
    or $0x20, %eax          /* PAE */
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx   /* EFER */
    rdmsr
    or $0x100, %eax         /* LME */
    wrmsr
    mov %cr0, %eax
    or $0x80000001, %eax    /* PG | PE */
    and $0x9fffffff, %eax   /* caches on (CD, NW off) */
    mov %eax, %cr0
    ljmp $SEL_KCODE, $long_from_32

    .code64
long_from_32:
    mov %edi, %edi          /* upper halves are undefined after the switch */
    mov %esi, %esi
    cmp $BOOT_AP, %esi
    je ap_entry64
    jmp long_common

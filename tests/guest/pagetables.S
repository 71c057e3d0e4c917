/* Static identity map of the low 4 GiB, every page user-accessible (U bit):
 * ring 3 runs the guest's real work and touches RAM and device MMIO itself
 * (ring 0 is emulated instruction by instruction on this KVM, ring 3 is
 * native). The first 2 MiB use 4 KiB pages so that page 0 stays unmapped
 * (null pointers fault); the rest are 2 MiB pages; 3-4 GiB (MMIO: virtio
 * window, IOAPIC, LAPIC) is uncached. Built at link time so the 32-bit PVH
 * and AP paths need no code to make them. */
#define P_PRESENT 0x1
#define P_RW      0x2
#define P_USER    0x4
#define P_PWT     0x8
#define P_PCD     0x10
#define P_LARGE   0x80
#define P_TABLE   (P_PRESENT | P_RW | P_USER)

    .section .data.pagetables, "aw"
    .balign 4096
    .globl pml4
pml4:
    .quad pdpt + P_TABLE
    .fill 511, 8, 0
pdpt:
    .quad pd + P_TABLE
    .quad pd + 4096 + P_TABLE
    .quad pd + 8192 + P_TABLE
    .quad pd + 12288 + P_TABLE
    .fill 508, 8, 0
pd:
    .quad pt0 + P_TABLE
    .set i, 1
    .rept 2047
    .if i < 1536
    .quad (i << 21) | P_TABLE | P_LARGE
    .else
    .quad (i << 21) | P_TABLE | P_LARGE | P_PCD | P_PWT
    .endif
    .set i, i + 1
    .endr
pt0:
    .quad 0
    .set i, 1
    .rept 511
    .quad (i << 12) | P_TABLE
    .set i, i + 1
    .endr

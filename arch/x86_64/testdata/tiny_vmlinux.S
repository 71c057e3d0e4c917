/* A tiny stand-in for vmlinux: linked like the real one (virtual addresses
 * at __START_KERNEL_map + 16 MiB, physical load addresses at 16 MiB,
 * e_entry physical) with the PVH entry note Linux emits in
 * arch/x86/platform/pvh/head.S. */
#define LOAD_OFFSET 0xffffffff80000000

	.section .note.Xen, "a", @note
	.balign 4
	.long 4			/* namesz: "Xen\0" */
	.long 8			/* descsz: _ASM_PTR, 8 bytes on x86-64 */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.quad pvh_start_xen - LOAD_OFFSET
	.balign 4

	.text
	.code64
	.globl startup_64
startup_64:
	hlt
	jmp startup_64

	.code32
	.globl pvh_start_xen
pvh_start_xen:
	hlt
	jmp pvh_start_xen

	.data
	.globl payload
payload:
	.ascii "BLIMPKERNEL"

	.bss
	.globl bss_area
bss_area:
	.skip 8192

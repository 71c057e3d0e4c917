/* Reads the loader's hand-over: Linux boot_params (64-bit entry) or PVH
 * hvm_start_info (QEMU), into one struct bootinfo. Runs in ring 3. */
#include "user.h"

struct bootinfo bootinfo;

/* Offsets in struct boot_params (arch/x86/include/uapi/asm/bootparam.h). */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_CMD_LINE_PTR 0x228
#define BP_E820_TABLE 0x2d0

#define PVH_MAGIC 0x336ec578

struct PACKED hvm_start_info {
  uint32_t magic, version, flags, nr_modules;
  uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
  uint32_t memmap_entries, reserved;
};
struct PACKED hvm_memmap_entry {
  uint64_t addr, size;
  uint32_t type, reserved;
};

static void copy_cmdline(uint64_t pa) {
  if (!pa) return;
  const char *s = (const char *)pa;
  size_t i = 0;
  for (; i + 1 < sizeof(bootinfo.cmdline) && s[i]; i++) bootinfo.cmdline[i] = s[i];
  bootinfo.cmdline[i] = 0;
}

static void add_e820(uint64_t addr, uint64_t size, uint32_t type) {
  if (!size || !type || addr + size < addr) return; /* QEMU appends an empty slot */
  if (bootinfo.e820_count < E820_MAX) bootinfo.e820[bootinfo.e820_count++] = (struct e820_entry){addr, size, type};
}

void bootinfo_read(void) {
  const uint8_t *bp = (const uint8_t *)boot_info_ptr;
  if (boot_kind == BOOT_LINUX && bp) {
    uint64_t cmd = *(const uint32_t *)(bp + BP_CMD_LINE_PTR) | (uint64_t)*(const uint32_t *)(bp + BP_EXT_CMD_LINE_PTR) << 32;
    copy_cmdline(cmd);
    uint8_t n = bp[BP_E820_ENTRIES];
    for (uint8_t i = 0; i < n && i < E820_MAX; i++) {
      const uint8_t *e = bp + BP_E820_TABLE + 20 * i;
      add_e820(*(const uint64_t *)e, *(const uint64_t *)(e + 8), *(const uint32_t *)(e + 16));
    }
    bootinfo.rsdp = *(const uint64_t *)(bp + BP_ACPI_RSDP_ADDR);
  } else if (boot_kind == BOOT_PVH && bp) {
    const struct hvm_start_info *si = (const void *)bp;
    if (si->magic != PVH_MAGIC) return;
    copy_cmdline(si->cmdline_paddr);
    bootinfo.rsdp = si->rsdp_paddr;
    if (si->version >= 1 && si->memmap_paddr) {
      const struct hvm_memmap_entry *m = (const void *)si->memmap_paddr;
      for (uint32_t i = 0; i < si->memmap_entries; i++) add_e820(m[i].addr, m[i].size, m[i].type);
    }
  }
}

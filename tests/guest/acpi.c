/* ACPI tables, read in ring 3: RSDP -> XSDT (or RSDT) -> FADT (power
 * registers, DSDT), MADT (CPUs, IOAPIC, ISA interrupt overrides) and the
 * DSDT's virtio-mmio devices. */
#include "user.h"

struct acpi_info acpi;

struct PACKED sdt_header {
  char sig[4];
  uint32_t length;
  uint8_t revision, checksum;
  char oem[6], oem_table[8];
  uint32_t oem_rev, creator, creator_rev;
};

static int checksum_ok(const void *p, size_t n) {
  uint8_t s = 0;
  for (size_t i = 0; i < n; i++) s += ((const uint8_t *)p)[i];
  return s == 0;
}

static int is_rsdp(uint64_t a) { return memcmp((const void *)a, "RSD PTR ", 8) == 0 && checksum_ok((const void *)a, 20); }

static uint64_t find_rsdp(uint64_t hint) {
  if (hint && is_rsdp(hint)) return hint;
  for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
    if (is_rsdp(a)) return a;
  return 0;
}

static void read_gas(const uint8_t *p, struct gas *g) {
  g->space = p[0];
  g->width = p[1];
  g->offset = p[2];
  g->access = p[3];
  g->addr = *(const uint64_t *)(p + 4);
}

void gas_write(const struct gas *g, uint64_t v) {
  unsigned bytes = g->access ? 1u << (g->access - 1) : (g->width ? g->width / 8u : 1u);
  v <<= g->offset;
  if (g->space == 1) {
    if (bytes == 1) uoutb((uint16_t)g->addr, (uint8_t)v);
    else if (bytes == 2) uoutw((uint16_t)g->addr, (uint16_t)v);
    else uoutl((uint16_t)g->addr, (uint32_t)v);
  } else if (g->space == 0) {
    if (bytes == 1) *(volatile uint8_t *)g->addr = (uint8_t)v;
    else if (bytes == 2) *(volatile uint16_t *)g->addr = (uint16_t)v;
    else if (bytes == 4) *(volatile uint32_t *)g->addr = (uint32_t)v;
    else *(volatile uint64_t *)g->addr = v;
  }
}

static void parse_fadt(const struct sdt_header *h) {
  const uint8_t *p = (const uint8_t *)h;
  if (h->length >= 116) acpi.hw_reduced = (*(const uint32_t *)(p + 112) >> 20) & 1;
  if (h->length >= 129) {
    read_gas(p + 116, &acpi.reset_reg);
    acpi.reset_value = p[128];
    acpi.has_reset = (*(const uint32_t *)(p + 112) >> 10) & 1;  /* RESET_REG_SUP */
    if (acpi.reset_reg.addr) acpi.has_reset = 1;
  }
  if (h->length >= 256) {
    read_gas(p + 244, &acpi.sleep_ctl);
    acpi.has_sleep_ctl = acpi.sleep_ctl.addr != 0;
  }
  /* X_DSDT (offset 140) wins over DSDT (offset 40) when set. */
  acpi.dsdt = h->length >= 148 && *(const uint64_t *)(p + 140) ? *(const uint64_t *)(p + 140)
                                                              : *(const uint32_t *)(p + 40);
}

/* Not an AML interpreter: after each "LNRO0005" _HID string, the next
 * Memory32Fixed (0x86) and Extended Interrupt (0x89) descriptors before the
 * next device are its _CRS, as blimp-vmm and QEMU's microvm write them. */
int acpi_virtio_mmio(struct virtio_mmio_dev *devs, int max) {
  const struct sdt_header *h = (const void *)acpi.dsdt;
  if (!acpi.dsdt || memcmp(h->sig, "DSDT", 4) || !checksum_ok(h, h->length)) return 0;
  const uint8_t *p = (const uint8_t *)h;
  static const char hid[] = "LNRO0005";
  int n = 0;
  for (uint32_t i = sizeof(*h); i + sizeof(hid) <= h->length && n < max; i++) {
    if (memcmp(p + i, hid, sizeof(hid))) continue;
    struct virtio_mmio_dev d = {0, 0, 0};
    int have_mem = 0, have_irq = 0;
    uint32_t j = i + sizeof(hid);
    for (; j + 9 <= h->length && memcmp(p + j, hid, sizeof(hid)); j++) {
      if (!have_mem && j + 12 <= h->length && p[j] == 0x86 && p[j + 1] == 9 && p[j + 2] == 0) {
        d.base = *(const uint32_t *)(p + j + 4);
        d.size = *(const uint32_t *)(p + j + 8);
        have_mem = 1;
      } else if (!have_irq && p[j] == 0x89 && p[j + 1] >= 6 && p[j + 2] == 0 && p[j + 4] >= 1) {
        d.irq = *(const uint32_t *)(p + j + 5);
        have_irq = 1;
      }
      if (have_mem && have_irq) break;
    }
    if (have_mem && have_irq) devs[n++] = d;
    i = j - 1;
  }
  return n;
}

static void parse_madt(const struct sdt_header *h) {
  const uint8_t *p = (const uint8_t *)h;
  acpi.lapic = *(const uint32_t *)(p + 36);
  for (uint32_t off = 44; off + 2 <= h->length;) {
    uint8_t type = p[off], len = p[off + 1];
    if (len < 2) break;
    const uint8_t *e = p + off;
    if (type == 0 && (*(const uint32_t *)(e + 4) & 1) && acpi.ncpus < MAX_CPUS) {
      acpi.apic_ids[acpi.ncpus++] = e[3];
    } else if (type == 1 && !acpi.ioapic) {
      acpi.ioapic = *(const uint32_t *)(e + 4);
      acpi.ioapic_gsi_base = *(const uint32_t *)(e + 8);
    } else if (type == 2 && e[2] == 0 && e[3] < 16) {
      acpi.isa_gsi[e[3]] = *(const uint32_t *)(e + 4);
      acpi.isa_flags[e[3]] = *(const uint16_t *)(e + 8);
    }
    off += len;
  }
}

void acpi_init(uint64_t rsdp_hint) {
  for (int i = 0; i < 16; i++) acpi.isa_gsi[i] = (uint32_t)i;
  acpi.lapic = LAPIC_BASE;
  acpi.ioapic = 0;
  uint64_t rsdp = find_rsdp(rsdp_hint);
  if (!rsdp) return;
  acpi.rsdp = rsdp;
  const uint8_t *r = (const uint8_t *)rsdp;
  uint64_t root = 0;
  int entry_size = 4;
  if (r[15] >= 2 && *(const uint64_t *)(r + 24)) {
    root = *(const uint64_t *)(r + 24);
    entry_size = 8;
  } else {
    root = *(const uint32_t *)(r + 16);
  }
  const struct sdt_header *rh = (const void *)root;
  if (!root || !checksum_ok(rh, rh->length)) return;
  acpi.found = 1;
  for (uint32_t off = sizeof(*rh); off + entry_size <= rh->length; off += entry_size) {
    const uint8_t *ep = (const uint8_t *)rh + off;
    uint64_t a = entry_size == 8 ? *(const uint64_t *)ep : *(const uint32_t *)ep;
    const struct sdt_header *h = (const void *)a;
    if (!a || !checksum_ok(h, h->length)) continue;
    if (!memcmp(h->sig, "FACP", 4)) parse_fadt(h);
    else if (!memcmp(h->sig, "APIC", 4)) parse_madt(h);
  }
}

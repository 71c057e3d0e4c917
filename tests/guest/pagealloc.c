/* Page allocator over 4 KiB pages: one bit per page of the low 4 GiB
 * (1 = free), filled from the e820 map's usable RAM above 1 MiB minus the
 * guest image (code, data, page tables, stacks, this bitmap). Single
 * pages in and out, so a balloon driver can hand out PFNs one by one.
 * Ring 3 only (one CPU runs ring 3: no locking). */
#include "user.h"

#define MAX_PAGES (1ull << 20)  /* 4 GiB: what pagetables.S maps */
#define LOW_LIMIT 0x100000ull

static uint64_t bitmap[MAX_PAGES / 64];
static uint64_t total, nfree, hint;

static void mark(uint64_t start, uint64_t end, int free) {
  for (uint64_t pfn = start >> 12; pfn < end >> 12 && pfn < MAX_PAGES; pfn++) {
    uint64_t bit = 1ull << (pfn & 63);
    int was = (bitmap[pfn / 64] & bit) != 0;
    if (free && !was) bitmap[pfn / 64] |= bit, total++, nfree++;
    if (!free && was) bitmap[pfn / 64] &= ~bit, total--, nfree--;
  }
}

void pagealloc_init(void) {
  for (uint32_t i = 0; i < bootinfo.e820_count; i++) {
    const struct e820_entry *e = &bootinfo.e820[i];
    if (e->type != 1) continue;
    uint64_t s = (e->addr + 4095) & ~4095ull, end = (e->addr + e->size) & ~4095ull;
    if (s < LOW_LIMIT) s = LOW_LIMIT;
    if (s < end) mark(s, end, 1);
  }
  /* Overlapping or odd maps must not free anything that is not RAM. */
  for (uint32_t i = 0; i < bootinfo.e820_count; i++) {
    const struct e820_entry *e = &bootinfo.e820[i];
    if (e->type != 1) mark(e->addr & ~4095ull, (e->addr + e->size + 4095) & ~4095ull, 0);
  }
  mark((uint64_t)_image_start & ~4095ull, ((uint64_t)_image_end + 4095) & ~4095ull, 0);
}

uint64_t page_alloc(void) {
  if (!nfree) return 0;
  for (uint64_t n = 0; n <= MAX_PAGES / 64; n++, hint = (hint + 1) % (MAX_PAGES / 64)) {
    uint64_t w = bitmap[hint];
    if (w) {
      int b = __builtin_ctzll(w);
      bitmap[hint] = w & (w - 1);
      nfree--;
      return (hint * 64 + (uint64_t)b) << 12;
    }
  }
  return 0;
}

void page_free(uint64_t pa) {
  uint64_t pfn = pa >> 12;
  if (pfn >= MAX_PAGES || (bitmap[pfn / 64] >> (pfn & 63)) & 1) {
    kprintf("pagealloc: bad free 0x%lx\n", pa);
    return;
  }
  bitmap[pfn / 64] |= 1ull << (pfn & 63);
  nfree++;
}

uint64_t pages_total(void) { return total; }
uint64_t pages_free(void) { return nfree; }
uint64_t pages_used(void) { return total - nfree; }

/* Page allocator over 4 KiB pages: one bit per page of the low 4 GiB
 * (1 = free), filled from the e820 map's usable RAM above 1 MiB minus the
 * guest image (code, data, page tables, stacks, this bitmap). Single
 * pages in and out, so a balloon driver can hand out PFNs one by one.
 * Ring 3 only (one CPU runs ring 3: no locking). */
#include "user.h"

#define MAX_PAGES (1ull << 20)  /* 4 GiB: what pagetables.S maps */
#define LOW_LIMIT 0x100000ull

#define BLOCK_PAGES 512  /* 2 MiB blocks for free page reporting/hinting */
#define MAX_BLOCKS (MAX_PAGES / BLOCK_PAGES)

static uint64_t bitmap[MAX_PAGES / 64];
static uint64_t total, nfree, hint;
/* 1 = the 2 MiB block was reported to the host as free and no page of it
 * has been handed out since. */
static uint64_t reported[MAX_BLOCKS / 64];
static uint64_t block_cursor;
struct pagealloc_counters pa_counters;

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
  if (nfree) {
    for (uint64_t n = 0; n <= MAX_PAGES / 64; n++, hint = (hint + 1) % (MAX_PAGES / 64)) {
      uint64_t w = bitmap[hint];
      if (w) {
        int b = __builtin_ctzll(w);
        bitmap[hint] = w & (w - 1);
        nfree--;
        uint64_t pfn = hint * 64 + (uint64_t)b, blk = pfn / BLOCK_PAGES;
        reported[blk / 64] &= ~(1ull << (blk & 63));
        pa_counters.allocs++;
        return pfn << 12;
      }
    }
  }
  pa_counters.fails++;
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
  pa_counters.frees++;
  if (pfn / 64 < hint) hint = pfn / 64;  /* reuse freed (warm) pages first */
}

/* A whole free, aligned 2 MiB block (8 bitmap words all ones), taken out
 * of the allocator; with `unreported_only`, only blocks not reported since
 * they were last handed out. Returns its address or 0. */
uint64_t block_take(int unreported_only) {
  for (uint64_t n = 0; n < MAX_BLOCKS; n++, block_cursor = (block_cursor + 1) % MAX_BLOCKS) {
    uint64_t blk = block_cursor, *w = &bitmap[blk * (BLOCK_PAGES / 64)];
    if (unreported_only && (reported[blk / 64] >> (blk & 63)) & 1) continue;
    int all = 1;
    for (int i = 0; i < BLOCK_PAGES / 64 && all; i++) all = w[i] == ~0ull;
    if (!all) continue;
    for (int i = 0; i < BLOCK_PAGES / 64; i++) w[i] = 0;
    nfree -= BLOCK_PAGES;
    block_cursor = (block_cursor + 1) % MAX_BLOCKS;
    return blk * BLOCK_PAGES << 12;
  }
  return 0;
}

/* Gives a block from block_take back (marked reported or not). */
void block_put(uint64_t pa, int was_reported) {
  uint64_t blk = (pa >> 12) / BLOCK_PAGES, *w = &bitmap[blk * (BLOCK_PAGES / 64)];
  for (int i = 0; i < BLOCK_PAGES / 64; i++) w[i] = ~0ull;
  nfree += BLOCK_PAGES;
  if (was_reported) reported[blk / 64] |= 1ull << (blk & 63);
  else reported[blk / 64] &= ~(1ull << (blk & 63));
}

uint64_t pages_total(void) { return total; }
uint64_t pages_free(void) { return nfree; }
uint64_t pages_used(void) { return total - nfree; }

/* The virtio balloon driver (virtio 1.1 section 5.5), in ring 3, modelled
 * on Linux's drivers/virtio/virtio_balloon.c but written from the spec:
 *  - inflate/deflate in buffers of up to 256 4 KiB PFNs (u32), one buffer
 *    in flight per queue, `actual` written after each buffer;
 *  - "Out of puff! Can't get N pages" and a retry after 0.2 s when the page
 *    allocator is dry;
 *  - DEFLATE_ON_OOM: `touch` asks for 256 pages back (balloon_oom_release)
 *    before failing; no re-inflation until the next config change;
 *  - STATS_VQ: one 16-tag buffer held by the device, refilled when used;
 *  - REPORTING: free, aligned 2 MiB blocks not reported since they were last
 *    handed out, sent as device-writable buffers after pages were freed;
 *  - FREE_PAGE_HINT: on a new command id >= 2: the id, every free 2 MiB
 *    block (held until the host says DONE), then STOP.
 * It runs as balloon_poll(): from the shell whenever it waits for input,
 * from `sleep`, and between chunks of `touch`. The device interrupt wakes
 * the shell's wait (entry.S virtio_isr masks the IOAPIC pin; we unmask
 * after reading InterruptStatus). `hostile CASE` sends broken requests. */
#include "virtio.h"

#define F_STATS_VQ 1
#define F_DEFLATE_ON_OOM 2
#define F_FREE_PAGE_HINT 3
#define F_REPORTING 5
#define F_WANTED ((1ull << VIRTIO_F_VERSION_1) | (1ull << F_STATS_VQ) | (1ull << F_DEFLATE_ON_OOM) | \
                  (1ull << F_FREE_PAGE_HINT) | (1ull << F_REPORTING))

#define CFG_NUM_PAGES 0
#define CFG_ACTUAL 4
#define CFG_HINT_CMD 8
#define HINT_CMD_STOP 0
#define HINT_CMD_DONE 1

#define PFNS_PER_BUF 256
#define BUF_PFNS 0      /* offsets in the driver's buffer page */
#define BUF_STATS 1024
#define BUF_HINT_CMD 1280
#define BUF_HINT_STOP 1288
#define BUF_HOSTILE 2048
#define NSTATS 16
#define BLOCK_BYTES (2ull << 20)
#define BLOCK_PAGES 512
#define MAX_PAGES (1ull << 20)
#define MAX_BLOCKS (MAX_PAGES / BLOCK_PAGES)
#define OOM_PAGES 256
#define STEP_BUFFERS 32   /* inflate/deflate buffers per step */
#define STEP_BLOCKS 64    /* reported blocks per step */

enum { Q_INFLATE, Q_DEFLATE, Q_STATS, Q_HINT, Q_REPORT, Q_COUNT };
enum { TOK_NORMAL = 1, TOK_STATS, TOK_HOSTILE };

static struct {
  int present, ready, need_reinit, busy, cfg_pending;
  uint64_t base;
  uint32_t irq;
  uint64_t offered, features;
  struct vq q[Q_COUNT];
  int have[Q_COUNT], nq;
  uint32_t pending[Q_COUNT];  /* TOK_NORMAL/TOK_HOSTILE chains in flight */
  uint64_t buf;               /* driver buffer page */
  uint32_t target, count, cfg_gen, hint_cmd_active;
  uint64_t retry_tsc, ram_end_pfn, seen_frees, pfn_cursor;
  int oom_hold, reporting_done;
  uint64_t inflated, deflated, reported, out_of_puff, oom_deflated, hint_released, reinits;
  uint64_t deflated_nonzero;  /* deflated pages whose first word was not 0 */
  uint64_t hinted_count;
  uint64_t late_kicks[Q_COUNT];  /* kicks that returned before the device used every buffer */
  char msg[1024];
  size_t msg_len;
  uint64_t rl_start, rl_count;
} B;

static uint64_t balloon_bits[MAX_PAGES / 64];  /* 1 = page is in the balloon */
static uint64_t hinted_bits[MAX_BLOCKS / 64];  /* 1 = block held by a hinting run */

static uint64_t ms_tsc(uint64_t ms) { return ms * (tsc_hz / 1000); }

static int has(int bit) { return (B.features >> bit) & 1; }

/* Driver messages go out at once when the shell is idle, otherwise after
 * the running command's ok/error line (each on its own line). */
static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...) {
  char line[200];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (n > (int)sizeof(line) - 1) n = sizeof(line) - 1;
  if (!B.busy) {
    uart_write(line, (size_t)n);
    return;
  }
  if (B.msg_len + (size_t)n < sizeof(B.msg)) {
    memcpy(B.msg + B.msg_len, line, (size_t)n);
    B.msg_len += (size_t)n;
  }
}

void balloon_flush_messages(void) {
  if (!B.msg_len) return;
  uart_write(B.msg, B.msg_len);
  B.msg_len = 0;
}

static uint32_t cfg_read(uint32_t off) { return vm_read(B.base, VIRTIO_MMIO_CONFIG + off); }
static void write_actual(void) { vm_write(B.base, VIRTIO_MMIO_CONFIG + CFG_ACTUAL, B.count); }

/* Unmask the pin the interrupt handler masked, then read and ack what the
 * device reports (in this order, so an edge that came while masked is not
 * lost: its status bit is still set). */
static uint32_t irq_service(void) {
  if (virtio_irq_masked) {
    virtio_irq_masked = 0;
    mmio_write32(virtio_ioapic, virtio_ioapic_sel);
    mmio_write32(virtio_ioapic + 0x10, virtio_ioapic_lo);
  }
  uint32_t isr = vm_read(B.base, VIRTIO_MMIO_INTERRUPT_STATUS);
  if (isr) vm_write(B.base, VIRTIO_MMIO_INTERRUPT_ACK, isr);
  if (isr & VIRTIO_INT_CONFIG) B.cfg_pending = 1;
  return isr;
}

/* ---- statistics (5.5.6.3) ---- */

static void stats_fill(void) {
  uint64_t v[NSTATS] = {0};
  v[3] = pa_counters.allocs;            /* minor_faults: pages handed out */
  v[4] = pages_free() * 4096;           /* free_memory */
  v[5] = pages_total() * 4096;          /* total_memory */
  v[6] = (pages_free() + B.hinted_count) * 4096;  /* available_memory */
  v[10] = touch_oom_failures;           /* oom_kill: commands ended by OOM */
  v[11] = pa_counters.fails;            /* alloc_stall: failed allocations */
  v[15] = B.oom_deflated + B.hint_released;  /* direct_reclaim: pages got back under pressure */
  uint8_t *p = (uint8_t *)(B.buf + BUF_STATS);
  for (uint16_t t = 0; t < NSTATS; t++, p += 10) {
    memcpy(p, &t, 2);
    memcpy(p + 2, &v[t], 8);
  }
}

static void stats_add(void) {
  stats_fill();
  struct vbuf b = {B.buf + BUF_STATS, NSTATS * 10, 0};
  if (vq_add(&B.q[Q_STATS], &b, 1, TOK_STATS) >= 0) vq_kick(&B.q[Q_STATS]);
}

/* ---- used buffers ---- */

static void reap(int qi) {
  uint64_t tok;
  int r;
  while ((r = vq_pop_used(&B.q[qi], &tok)) != 0) {
    if (r < 0) {
      B.need_reinit = 1;  /* the device named a buffer we never gave it */
      continue;
    }
    if (tok == TOK_STATS) stats_add();  /* device wants fresh values */
    else if (B.pending[qi]) B.pending[qi]--;
  }
}

static void reap_all(void) {
  for (int i = 0; i < Q_COUNT; i++)
    if (B.have[i]) reap(i);
}

/* Waits for every buffer we sent on queue qi: spin a little (the device
 * often answers within the notification), then sleep for the interrupt. */
static int wait_done(int qi, uint64_t timeout_ms) {
  uint64_t start = rdtsc(), end = start + ms_tsc(timeout_ms), spin_end = start + tsc_hz / 2000;
  for (;;) {
    uint64_t seq = irq_seq;
    reap(qi);
    if (!B.pending[qi]) return 0;
    uint64_t now = rdtsc();
    if (now >= end) {
      B.need_reinit = 1;
      return -1;
    }
    if (now < spin_end) {
      cpu_relax();
      continue;
    }
    irq_service();
    reap(qi);
    if (!B.pending[qi]) return 0;
    uint64_t d = now + ms_tsc(5);
    sys_call(SYS_WAIT, seq, d < end ? d : end, 0);
  }
}

/* Notifies and counts a kick that came back before the device had used
 * every buffer: blimp-vmm must handle the hint and reporting queues inside
 * the notification (Linux reuses a hinted page once its kick returns). */
static void kick(int qi) {
  struct vq *q = &B.q[qi];
  vq_kick(q);
  if (q->used->idx != q->avail_idx) B.late_kicks[qi]++;
}

static int send(int qi, const struct vbuf *bufs, int n) {
  if (vq_add(&B.q[qi], bufs, n, TOK_NORMAL) < 0) return -1;
  B.pending[qi]++;
  kick(qi);
  return wait_done(qi, 2000);
}

/* ---- inflate / deflate (5.5.6.1) ---- */

/* 0: sent `want` pages; -1: the allocator ran dry (what it had was sent);
 * -2: the device did not answer. */
static int inflate_one(uint32_t want) {
  uint32_t *pfns = (uint32_t *)(B.buf + BUF_PFNS), n = 0;
  while (n < want) {
    uint64_t pa = page_alloc();
    if (!pa) break;
    pfns[n++] = (uint32_t)(pa >> 12);
  }
  if (n) {
    struct vbuf b = {B.buf + BUF_PFNS, n * 4, 0};
    if (send(Q_INFLATE, &b, 1) < 0) {
      for (uint32_t i = 0; i < n; i++) page_free((uint64_t)pfns[i] << 12);
      return -2;
    }
    for (uint32_t i = 0; i < n; i++) balloon_bits[pfns[i] / 64] |= 1ull << (pfns[i] & 63);
    B.count += n;
    B.inflated += n;
    write_actual();
  }
  return n < want ? -1 : 0;
}

static int deflate_one(uint32_t want) {
  uint32_t *pfns = (uint32_t *)(B.buf + BUF_PFNS), n = 0;
  uint64_t taken = 0;  /* bits of the cursor's word already picked */
  for (uint64_t scanned = 0; n < want && scanned <= MAX_PAGES / 64;) {
    uint64_t w = balloon_bits[B.pfn_cursor] & ~taken;
    if (!w) {
      B.pfn_cursor = (B.pfn_cursor + 1) % (MAX_PAGES / 64);
      taken = 0;
      scanned++;
      continue;
    }
    int bit = __builtin_ctzll(w);
    taken |= 1ull << bit;
    pfns[n++] = (uint32_t)(B.pfn_cursor * 64 + (uint64_t)bit);
  }
  if (!n) return -1;
  struct vbuf b = {B.buf + BUF_PFNS, n * 4, 0};
  if (send(Q_DEFLATE, &b, 1) < 0) return -2;  /* pages stay in the balloon */
  for (uint32_t i = 0; i < n; i++) {
    uint64_t pa = (uint64_t)pfns[i] << 12;
    /* A host that discarded the page on inflate hands it back zeroed. */
    if (*(volatile uint64_t *)pa) B.deflated_nonzero++;
    balloon_bits[pfns[i] / 64] &= ~(1ull << (pfns[i] & 63));
    page_free(pa);
  }
  B.count -= n;
  B.deflated += n;
  write_actual();
  return 0;
}

static void out_of_puff(void) {
  B.out_of_puff++;
  B.retry_tsc = rdtsc() + ms_tsc(200);
  /* Rate-limited like Linux's dev_info_ratelimited: 10 lines per 5 s. */
  uint64_t now = rdtsc();
  if (now - B.rl_start > ms_tsc(5000)) B.rl_start = now, B.rl_count = 0;
  if (B.rl_count++ < 10) msg("Out of puff! Can't get %u pages\n", B.target - B.count);
}

/* ---- free page hinting ---- */

static uint64_t release_hinted(void) {
  uint64_t n = 0;
  for (uint64_t i = 0; i < MAX_BLOCKS / 64; i++) {
    while (hinted_bits[i]) {
      uint64_t blk = i * 64 + (uint64_t)__builtin_ctzll(hinted_bits[i]);
      hinted_bits[i] &= hinted_bits[i] - 1;
      block_put(blk * BLOCK_BYTES, 0);
      n += BLOCK_PAGES;
    }
  }
  B.hinted_count = 0;
  return n;
}

static void hint_run(uint32_t cmd) {
  struct vq *q = &B.q[Q_HINT];
  *(volatile uint32_t *)(B.buf + BUF_HINT_CMD) = cmd;
  struct vbuf b = {B.buf + BUF_HINT_CMD, 4, 0};
  if (send(Q_HINT, &b, 1) < 0) return;
  int added = 0;
  for (;;) {
    if (q->num_free < 2) {  /* keep one descriptor for STOP */
      kick(Q_HINT);
      if (wait_done(Q_HINT, 2000) < 0) return;
      added = 0;
      if (vm_read(B.base, VIRTIO_MMIO_CONFIG_GENERATION) != B.cfg_gen) break;  /* host changed its mind */
    }
    uint64_t pa = block_take(0);
    if (!pa) break;
    uint64_t blk = (pa >> 12) / BLOCK_PAGES;
    hinted_bits[blk / 64] |= 1ull << (blk & 63);
    B.hinted_count += BLOCK_PAGES;
    struct vbuf h = {pa, (uint32_t)BLOCK_BYTES, 1};
    if (vq_add(q, &h, 1, TOK_NORMAL) < 0) break;
    B.pending[Q_HINT]++;
    if (++added % 32 == 0) kick(Q_HINT);
  }
  kick(Q_HINT);
  if (wait_done(Q_HINT, 2000) < 0) return;
  *(volatile uint32_t *)(B.buf + BUF_HINT_STOP) = HINT_CMD_STOP;
  struct vbuf s = {B.buf + BUF_HINT_STOP, 4, 0};
  send(Q_HINT, &s, 1);
}

static void hint_cmd_changed(uint32_t cmd) {
  if (cmd == HINT_CMD_DONE) {
    if (B.hinted_count) release_hinted();
    return;
  }
  if (cmd == HINT_CMD_STOP || cmd == B.hint_cmd_active) return;
  B.hint_cmd_active = cmd;
  hint_run(cmd);
}

/* ---- free page reporting ---- */

/* Reports up to max_blocks blocks; 1 if more may remain. */
static int report_step(int max_blocks) {
  struct vq *q = &B.q[Q_REPORT];
  int done = 0;
  while (done < max_blocks) {
    uint64_t blocks[16];
    struct vbuf bufs[16];
    int n = 0, cap = q->num_free < 16 ? q->num_free : 16;
    while (n < cap) {
      uint64_t pa = block_take(1);
      if (!pa) break;
      blocks[n] = pa;
      bufs[n] = (struct vbuf){pa, (uint32_t)BLOCK_BYTES, 1};
      n++;
    }
    if (!n) return 0;
    int r = send(Q_REPORT, bufs, n);
    for (int i = 0; i < n; i++) block_put(blocks[i], r == 0);
    if (r < 0) return 0;
    B.reported += (uint64_t)n * BLOCK_PAGES;
    done += n;
  }
  return 1;
}

/* ---- device set-up (3.1.1, 4.2.3) ---- */

static void read_config(void) {
  uint32_t g, np, hc = 0;
  int tries = 0;
  do {
    g = vm_read(B.base, VIRTIO_MMIO_CONFIG_GENERATION);
    np = cfg_read(CFG_NUM_PAGES);
    if (has(F_FREE_PAGE_HINT)) hc = cfg_read(CFG_HINT_CMD);
  } while (g != vm_read(B.base, VIRTIO_MMIO_CONFIG_GENERATION) && ++tries < 100);
  B.cfg_gen = g;
  B.target = np;
  if (has(F_FREE_PAGE_HINT)) hint_cmd_changed(hc);
}

static void dev_reset(void) {
  vm_write(B.base, VIRTIO_MMIO_STATUS, 0);
  for (int i = 0; i < 1000000 && vm_read(B.base, VIRTIO_MMIO_STATUS); i++) cpu_relax();
}

/* Reset, acknowledge, negotiate; leaves the status at FEATURES_OK. */
static int dev_negotiate(void) {
  dev_reset();
  vm_write(B.base, VIRTIO_MMIO_STATUS, VIRTIO_S_ACKNOWLEDGE);
  vm_write(B.base, VIRTIO_MMIO_STATUS, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
  vm_write(B.base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
  uint64_t lo = vm_read(B.base, VIRTIO_MMIO_DEVICE_FEATURES);
  vm_write(B.base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
  uint64_t hi = vm_read(B.base, VIRTIO_MMIO_DEVICE_FEATURES);
  B.offered = lo | hi << 32;
  B.features = B.offered & F_WANTED;
  if (!has(VIRTIO_F_VERSION_1)) return -1;
  vm_write(B.base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
  vm_write(B.base, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)B.features);
  vm_write(B.base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
  vm_write(B.base, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(B.features >> 32));
  uint32_t st = VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK;
  vm_write(B.base, VIRTIO_MMIO_STATUS, st);
  if (!(vm_read(B.base, VIRTIO_MMIO_STATUS) & VIRTIO_S_FEATURES_OK)) return -1;
  return 0;
}

static int dev_init(void) {
  B.ready = 0;
  B.need_reinit = 0;
  if (B.hinted_count) release_hinted();
  for (int i = 0; i < Q_COUNT; i++) B.pending[i] = 0, B.have[i] = 0;
  if (dev_negotiate() < 0) goto fail;
  int want[Q_COUNT] = {1, 1, has(F_STATS_VQ), has(F_FREE_PAGE_HINT), has(F_REPORTING)};
  B.nq = 0;
  for (int i = 0; i < Q_COUNT; i++) {
    if (!want[i]) continue;
    B.q[i].base = B.base;
    B.q[i].index = (uint16_t)B.nq++;
    if (vq_setup(&B.q[i]) < 0) goto fail;
    B.have[i] = 1;
  }
  /* As Linux's init_vqs: the first statistics buffer is added and notified
   * before DRIVER_OK (the device must pick it up at DRIVER_OK). */
  if (has(F_STATS_VQ)) stats_add();
  vm_write(B.base, VIRTIO_MMIO_STATUS,
           VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK | VIRTIO_S_DRIVER_OK);
  B.ready = 1;
  irq_service();
  B.cfg_pending = 0;
  read_config();
  write_actual();
  return 0;
fail:
  vm_write(B.base, VIRTIO_MMIO_STATUS, vm_read(B.base, VIRTIO_MMIO_STATUS) | VIRTIO_S_FAILED);
  B.need_reinit = 1;
  return -1;
}

static void route_irq(uint32_t irq) {
  uint32_t gsi = irq < 16 ? acpi.isa_gsi[irq] : irq;
  uint64_t ioapic = acpi.ioapic ? acpi.ioapic : 0xfec00000;
  uint32_t pin = gsi - acpi.ioapic_gsi_base;
  uint32_t me = mmio_read32(LAPIC_BASE + 0x20) >> 24;
  /* Level-triggered, active high: right for QEMU's level line, and an
   * irqfd pulse from our VMM is delivered the same way. */
  uint32_t lo = VEC_VIRTIO | (1u << 15);
  virtio_ioapic = ioapic;
  virtio_ioapic_sel = 0x10 + 2 * pin;
  virtio_ioapic_lo = lo;
  virtio_irq_masked = 0;
  sys_call(SYS_IOAPIC_ROUTE, ioapic, pin, lo | (uint64_t)me << 56);
}

void balloon_init(const struct virtio_mmio_dev *devs, int n) {
  for (int i = 0; i < n && !B.present; i++) {
    uint64_t base = devs[i].base;
    if (base < 0xc0000000ull || base >= 0x100000000ull) continue;  /* only the mapped MMIO range */
    if (vm_read(base, VIRTIO_MMIO_MAGIC) != VIRTIO_MMIO_MAGIC_VALUE) continue;
    if (vm_read(base, VIRTIO_MMIO_DEVICE_ID) != 5) continue;
    uint32_t version = vm_read(base, VIRTIO_MMIO_VERSION);
    if (version != 2) {
      kprintf("virtio-balloon: base=0x%lx is legacy virtio-mmio version %u: not supported\n", base, version);
      continue;
    }
    B.present = 1;
    B.base = base;
    B.irq = devs[i].irq;
  }
  if (!B.present) return;
  for (uint32_t i = 0; i < bootinfo.e820_count; i++) {
    const struct e820_entry *e = &bootinfo.e820[i];
    uint64_t end = (e->addr + e->size) >> 12;
    if (e->type == 1 && end > B.ram_end_pfn) B.ram_end_pfn = end;
  }
  B.buf = page_alloc();
  B.seen_frees = ~0ull;  /* report what is free at start-up too */
  route_irq(B.irq);
  int r = dev_init();
  kprintf("virtio-balloon: base=0x%lx irq=%u features=0x%lx queues=%d%s%s\n", B.base, B.irq, B.features, B.nq,
          has(F_STATS_VQ) ? " stats=primed" : "", r ? " (set-up failed)" : "");
}

/* ---- the driver step ---- */

uint64_t balloon_poll(int busy) {
  if (!B.present) return 0;
  B.busy = busy;
  uint64_t now = rdtsc();
  if (B.need_reinit) {
    B.reinits++;
    dev_init();
  }
  if (!B.ready) return now + ms_tsc(1000);
  irq_service();
  reap_all();
  /* Config changes; again if handling one (a hinting run) caused another. */
  for (int k = 0; k < 4 && !B.need_reinit; k++) {
    if (!B.cfg_pending && vm_read(B.base, VIRTIO_MMIO_CONFIG_GENERATION) == B.cfg_gen) break;
    B.cfg_pending = 0;
    if (vm_read(B.base, VIRTIO_MMIO_STATUS) & VIRTIO_S_NEEDS_RESET) B.need_reinit = 1;
    B.oom_hold = 0;  /* a config change re-arms inflation (as Linux does) */
    read_config();
    irq_service();
  }
  if (B.need_reinit) return rdtsc();
  int more = 0;
  for (int i = 0; i < STEP_BUFFERS && !B.need_reinit; i++) {
    if (B.count < B.target) {
      if (B.oom_hold || rdtsc() < B.retry_tsc) break;
      uint32_t want = B.target - B.count;
      int r = inflate_one(want < PFNS_PER_BUF ? want : PFNS_PER_BUF);
      if (r == -1) out_of_puff();
      if (r) break;
    } else if (B.count > B.target) {
      uint32_t want = B.count - B.target;
      if (deflate_one(want < PFNS_PER_BUF ? want : PFNS_PER_BUF)) break;
    } else {
      break;
    }
    if (i == STEP_BUFFERS - 1) more = 1;
  }
  if (has(F_REPORTING) && !B.need_reinit && pa_counters.frees != B.seen_frees) {
    uint64_t frees = pa_counters.frees;
    if (report_step(STEP_BLOCKS)) more = 1;
    else B.seen_frees = frees;
  }
  now = rdtsc();
  if (more || B.need_reinit) return now;
  if (B.count < B.target && !B.oom_hold && B.retry_tsc > now) return B.retry_tsc;
  return now + ms_tsc(1000);  /* safety net: look again in a second */
}

uint64_t balloon_oom_release(void) {
  if (!B.present || !B.ready) return 0;
  int busy = B.busy;
  B.busy = 1;
  uint64_t got = 0;
  if (B.hinted_count) {
    got = release_hinted();
    B.hint_released += got;
  } else if (has(F_DEFLATE_ON_OOM) && B.count) {
    uint32_t n = B.count < OOM_PAGES ? B.count : OOM_PAGES;
    if (deflate_one(n) == 0) {
      B.oom_deflated += n;
      B.oom_hold = 1;
      got = n;
    }
  }
  B.busy = busy;
  return got;
}

int cmd_balloon(int argc, char **argv) {
  (void)argc, (void)argv;
  if (!B.present) return kprintf("error: no balloon device\n"), 1;
  uint32_t target = B.ready ? cfg_read(CFG_NUM_PAGES) : B.target;
  kprintf("balloon: target_pages=%u actual_pages=%u features=0x%lx inflated_pages=%lu deflated_pages=%lu "
          "reported_pages=%lu out_of_puff=%lu deflated_nonzero=%lu hinted_pages=%lu late_hint_kicks=%lu "
          "late_report_kicks=%lu\n",
          target, B.count, B.features, B.inflated, B.deflated, B.reported, B.out_of_puff,
          B.deflated_nonzero, B.hinted_count, B.late_kicks[Q_HINT], B.late_kicks[Q_REPORT]);
  return 0;
}

/* ---- hostile requests ---- */

/* A chain of n descriptors that the caller fills in; published at once. */
static struct virtq_desc *hostile_chain(int qi, int n, uint16_t *ids) {
  struct vq *q = &B.q[qi];
  int head = vq_take(q, n, ids, TOK_HOSTILE);
  if (head < 0) return 0;
  B.pending[qi]++;
  return q->desc;
}

static void hostile_pfn_buf(int qi, uint32_t len, int writable) {
  uint16_t id;
  struct virtq_desc *d = hostile_chain(qi, 1, &id);
  if (!d) return;
  d[id] = (struct virtq_desc){B.buf + BUF_HOSTILE, len, (uint16_t)(writable ? VIRTQ_DESC_F_WRITE : 0), 0};
  vq_publish(&B.q[qi], id);
}

static int hostile_run(const char *c, char *note, size_t note_len) {
  struct vq *qi = &B.q[Q_INFLATE];
  uint32_t *h = (uint32_t *)(B.buf + BUF_HOSTILE);
  memset(h, 0xff, 2048);  /* PFN 0xffffffff everywhere: never guest RAM */
  uint16_t ids[4];
  struct virtq_desc *d;
  if (!strcmp(c, "pfn-outside-ram")) {
    h[0] = (uint32_t)B.ram_end_pfn;
    h[1] = (uint32_t)B.ram_end_pfn + 12345;
    h[2] = 0x7fffffff;
    h[3] = 0xffffffff;
    hostile_pfn_buf(Q_INFLATE, 16, 0);
    vq_kick(qi);
  } else if (!strcmp(c, "odd-length")) {
    hostile_pfn_buf(Q_INFLATE, 6, 0);
    vq_kick(qi);
  } else if (!strcmp(c, "write-only-inflate")) {
    hostile_pfn_buf(Q_INFLATE, 16, 1);
    vq_kick(qi);
  } else if (!strcmp(c, "desc-loop")) {
    if ((d = hostile_chain(Q_INFLATE, 1, ids))) {  /* next points to itself */
      d[ids[0]] = (struct virtq_desc){B.buf + BUF_HOSTILE, 16, VIRTQ_DESC_F_NEXT, ids[0]};
      vq_publish(qi, ids[0]);
    }
    if ((d = hostile_chain(Q_INFLATE, 2, ids))) {  /* a 2-cycle */
      d[ids[0]] = (struct virtq_desc){B.buf + BUF_HOSTILE, 16, VIRTQ_DESC_F_NEXT, ids[1]};
      d[ids[1]] = (struct virtq_desc){B.buf + BUF_HOSTILE, 16, VIRTQ_DESC_F_NEXT, ids[0]};
      vq_publish(qi, ids[0]);
    }
    vq_kick(qi);
  } else if (!strcmp(c, "desc-out-of-range")) {
    if ((d = hostile_chain(Q_INFLATE, 1, ids))) {  /* address far beyond RAM */
      d[ids[0]] = (struct virtq_desc){(B.ram_end_pfn << 12) + (1ull << 40), 1024, 0, 0};
      vq_publish(qi, ids[0]);
    }
    /* A huge length from the last RAM page (on the deflate queue, so a
     * device that wrongly read it could not discard anything). */
    if ((d = hostile_chain(Q_DEFLATE, 1, ids))) {
      d[ids[0]] = (struct virtq_desc){(B.ram_end_pfn - 1) << 12, 0xfffff000u, 0, 0};
      vq_publish(&B.q[Q_DEFLATE], ids[0]);
    }
    vq_kick(qi);
    vq_kick(&B.q[Q_DEFLATE]);
  } else if (!strcmp(c, "next-out-of-range")) {
    if ((d = hostile_chain(Q_INFLATE, 1, ids))) {
      d[ids[0]] = (struct virtq_desc){B.buf + BUF_HOSTILE, 16, VIRTQ_DESC_F_NEXT, qi->size};
      vq_publish(qi, ids[0]);
    }
    if ((d = hostile_chain(Q_INFLATE, 1, ids))) {
      d[ids[0]] = (struct virtq_desc){B.buf + BUF_HOSTILE, 16, VIRTQ_DESC_F_NEXT, 0xffff};
      vq_publish(qi, ids[0]);
    }
    vq_kick(qi);
  } else if (!strcmp(c, "avail-idx-jump")) {
    /* Every ring slot names one harmless chain (PFN 0xffffffff), so a
     * device that pops stale slots finds nothing it could discard. */
    if ((d = hostile_chain(Q_INFLATE, 1, ids))) {
      d[ids[0]] = (struct virtq_desc){B.buf + BUF_HOSTILE, 16, 0, 0};
      for (uint16_t i = 0; i < qi->size; i++) qi->avail->ring[i] = ids[0];
      barrier();
      qi->avail_idx = (uint16_t)(qi->avail_idx + 0x8000);
      qi->avail->idx = qi->avail_idx;
      vq_kick(qi);
    }
  } else if (!strcmp(c, "bogus-stat-tags")) {
    if (!B.have[Q_STATS]) return kprintf("error: the stats queue was not negotiated\n"), 1;
    uint16_t tags[5] = {4, 99, 5, 65535, 3};
    uint64_t vals[5] = {pages_free() * 4096, 1, pages_total() * 4096, 2, pa_counters.allocs};
    uint8_t *p = (uint8_t *)h;
    for (int i = 0; i < 5; i++, p += 10) memcpy(p, &tags[i], 2), memcpy(p + 2, &vals[i], 8);
    struct vbuf b = {B.buf + BUF_HOSTILE, 50, 0};
    if (vq_add(&B.q[Q_STATS], &b, 1, TOK_HOSTILE) >= 0) B.pending[Q_STATS]++;
    vq_kick(&B.q[Q_STATS]);
  } else if (!strcmp(c, "impossible-stats")) {
    /* Well-formed, but impossible: free and available above total, and
     * minor_faults back at 0. */
    if (!B.have[Q_STATS]) return kprintf("error: the stats queue was not negotiated\n"), 1;
    uint64_t total = pages_total() * 4096;
    uint16_t tags[4] = {5, 4, 6, 3};
    uint64_t vals[4] = {total, 2 * total, 3 * total, 0};
    uint8_t *p = (uint8_t *)h;
    for (int i = 0; i < 4; i++, p += 10) memcpy(p, &tags[i], 2), memcpy(p + 2, &vals[i], 8);
    struct vbuf b = {B.buf + BUF_HOSTILE, 40, 0};
    if (vq_add(&B.q[Q_STATS], &b, 1, TOK_HOSTILE) >= 0) B.pending[Q_STATS]++;
    vq_kick(&B.q[Q_STATS]);
  } else if (!strcmp(c, "queue-addr-out-of-range")) {
    B.ready = 0;
    if (dev_negotiate() == 0) {
      uint64_t bad = (B.ram_end_pfn << 12) + (1ull << 40);
      uint64_t avail = qi->ring_pa + VQ_AVAIL_OFF, used = qi->ring_pa + VQ_USED_OFF;
      vm_write(B.base, VIRTIO_MMIO_QUEUE_SEL, 0);
      vm_write(B.base, VIRTIO_MMIO_QUEUE_NUM, qi->size);
      vm_write(B.base, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)bad);
      vm_write(B.base, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(bad >> 32));
      vm_write(B.base, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
      vm_write(B.base, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
      vm_write(B.base, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
      vm_write(B.base, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
      vm_write(B.base, VIRTIO_MMIO_QUEUE_READY, 1);
      uint32_t ready = vm_read(B.base, VIRTIO_MMIO_QUEUE_READY);
      if (ready) snprintf(note, note_len, "QueueReady reads back %u for a descriptor table at 0x%lx", ready, bad);
    }
    B.need_reinit = 1;  /* set up properly again below */
  } else if (!strcmp(c, "interrupt-storm")) {
    for (int i = 0; i < 10000; i++) vm_write(B.base, VIRTIO_MMIO_QUEUE_NOTIFY, (uint32_t)(i % (B.nq + 1)));
  } else if (!strcmp(c, "config-write")) {
    uint32_t before = cfg_read(CFG_NUM_PAGES);
    vm_write(B.base, VIRTIO_MMIO_CONFIG + CFG_NUM_PAGES, 0x7ffffff0u);
    uint32_t after = cfg_read(CFG_NUM_PAGES);
    if (after != before) snprintf(note, note_len, "num_pages changed from %u to %u", before, after);
  } else if (!strcmp(c, "steal-balloon")) {
    /* A lying driver: every page in the balloon is written and kept, while
     * `actual` still counts it (no deflate is sent). */
    uint64_t n = 0;
    for (uint64_t w = 0; w < MAX_PAGES / 64; w++) {
      for (uint64_t bits = balloon_bits[w]; bits; bits &= bits - 1) {
        volatile uint64_t *page = (volatile uint64_t *)(((w * 64) + (uint64_t)__builtin_ctzll(bits)) << 12);
        for (int i = 0; i < 512; i += 64) page[i] = 0x5a5a5a5a5a5a5a5aull;
        n++;
      }
      balloon_bits[w] = 0;
    }
    snprintf(note, note_len, "wrote and kept %lu ballooned pages, actual_pages=%u", n, B.count);
  } else {
    return kprintf("error: unknown case '%s' (pfn-outside-ram odd-length write-only-inflate desc-loop "
                   "desc-out-of-range next-out-of-range avail-idx-jump bogus-stat-tags "
                   "queue-addr-out-of-range interrupt-storm config-write steal-balloon impossible-stats)\n",
                   c), 1;
  }
  return 0;
}

int cmd_hostile(int argc, char **argv) {
  if (argc != 2) return kprintf("error: usage: hostile CASE\n"), 1;
  if (!B.present) return kprintf("error: no balloon device\n"), 1;
  B.busy = 1;
  if (!B.ready || B.need_reinit) dev_init();
  if (!B.ready) return kprintf("error: balloon device not ready\n"), 1;
  char note[160] = "";
  if (hostile_run(argv[1], note, sizeof(note))) return 1;
  /* Let the device answer (or not), then see whether it still works. */
  if (!B.need_reinit) {
    for (int i = 0; i < Q_COUNT; i++)
      if (B.have[i] && B.pending[i]) wait_done(i, 300);
    uint64_t end = rdtsc() + ms_tsc(20);
    while (rdtsc() < end) {
      uint64_t seq = irq_seq;
      irq_service();
      reap_all();
      sys_call(SYS_WAIT, seq, end, 0);
    }
    uint32_t st = vm_read(B.base, VIRTIO_MMIO_STATUS);
    if ((st & VIRTIO_S_NEEDS_RESET) || !(st & VIRTIO_S_DRIVER_OK)) B.need_reinit = 1;
  }
  if (B.need_reinit) {
    B.reinits++;
    dev_init();
  }
  if (note[0]) kprintf("hostile: note: %s\n", note);
  kprintf("hostile: %s sent\n", argv[1]);
  return 0;
}

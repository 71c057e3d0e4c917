/* The ring-0 core: descriptor tables, LAPIC/IOAPIC programming, exception
 * reports, the system-call dispatcher and the idle wait. Everything here
 * runs through the host's instruction emulator (~2 us per instruction), so
 * it is deliberately small; all real work happens in ring 3 (user_main). */
#include "guest.h"

struct PACKED idt_entry {
  uint16_t off0, sel;
  uint8_t ist, type;
  uint16_t off1;
  uint32_t off2, zero;
};

struct PACKED tss {
  uint32_t reserved0;
  uint64_t rsp[3];
  uint64_t reserved1;
  uint64_t ist[7];
  uint64_t reserved2;
  uint16_t reserved3, iopb;
};

struct PACKED desc_ptr {
  uint16_t limit;
  uint64_t base;
};

struct exc_frame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
  uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

extern uint64_t tss_desc[2];
extern char kstack_top[], ustack_top[];
extern const uint64_t exc_table[32];
void ud_entry(void), timer_isr(void), irq_isr(void), virtio_isr(void), spurious_isr(void), syscall_entry(void), int80_entry(void);
void enter_user(uint64_t rip, uint64_t rsp) __attribute__((noreturn));
void user_main(void);

KDATA volatile uint64_t ticks = 0;
KDATA volatile uint64_t irq_seq = 0;
KDATA volatile uint64_t virtio_ioapic = 0;
KDATA volatile uint32_t virtio_ioapic_sel = 0, virtio_ioapic_lo = 0, virtio_irq_masked = 0;
KDATA volatile uint64_t virtio_irqs = 0;
KDATA uint64_t boot_info_ptr = 0;
KDATA uint32_t boot_kind = 0;
KDATA uint64_t boot_tsc = 0;
KDATA volatile uint32_t ap_index = 0, ap_online = 0;
KDATA uint64_t ap_stack_top = 0;
KDATA static struct idt_entry idt[256] __attribute__((aligned(16)));
KDATA static struct tss tss __attribute__((aligned(16)));
KDATA static struct desc_ptr idtr = {0, 0};

static inline void wrmsr(uint32_t msr, uint64_t v) {
  __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t rdmsr(uint32_t msr) {
  uint32_t lo, hi;
  __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return ((uint64_t)hi << 32) | lo;
}

static void set_gate(int vec, void (*fn)(void), uint8_t type) {
  uint64_t a = (uint64_t)fn;
  idt[vec] = (struct idt_entry){(uint16_t)a, SEL_KCODE, 0, type, (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0};
}

static void lapic_enable(void) {
  mmio_write32(LAPIC_BASE + 0x80, 0);                   /* TPR: accept all */
  mmio_write32(LAPIC_BASE + 0xf0, 0x100 | VEC_SPURIOUS); /* SVR: enable */
  mmio_write32(LAPIC_BASE + 0x350, 0x10000);            /* LINT0 masked (no 8259) */
}

void kmain(void) {
  boot_tsc = rdtsc();
  outb(0x21, 0xff);  /* mask both 8259s: we use the IOAPIC */
  outb(0xa1, 0xff);

  uint64_t t = (uint64_t)&tss;
  tss.rsp[0] = (uint64_t)kstack_top;
  tss.iopb = sizeof(tss);  /* no I/O bitmap: IOPL=3 grants ring 3 the ports */
  tss_desc[0] = (sizeof(tss) - 1) | ((t & 0xffffff) << 16) | (0x89ULL << 40) | ((t >> 24) & 0xff) << 56;
  tss_desc[1] = t >> 32;
  __asm__ volatile("ltr %w0" ::"r"(SEL_TSS));

  for (int i = 0; i < 32; i++) set_gate(i, (void (*)(void))exc_table[i], 0x8e);
  set_gate(6, ud_entry, 0x8e);
  set_gate(VEC_TIMER, timer_isr, 0x8e);
  for (int v = VEC_IRQ_BASE; v <= VEC_IRQ_LAST; v++) set_gate(v, irq_isr, 0x8e);
  set_gate(VEC_VIRTIO, virtio_isr, 0x8e);
  set_gate(VEC_SYSCALL, int80_entry, 0xee);  /* DPL 3: callable from ring 3 */
  set_gate(VEC_SPURIOUS, spurious_isr, 0x8e);
  idtr.limit = sizeof(idt) - 1;
  idtr.base = (uint64_t)idt;
  __asm__ volatile("lidt %0" ::"m"(idtr));

  /* syscall/sysret: kernel CS 0x08 (SS 0x10); sysret: CS 0x23, SS 0x1b. */
  uint32_t a = 0x80000001, b, c = 0, d;
  __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
  if (d & (1u << 11)) wrmsr(0xc0000080, rdmsr(0xc0000080) | 1); /* EFER.SCE, if CPUID has it */
  wrmsr(0xc0000081, ((uint64_t)0x10 << 48) | ((uint64_t)SEL_KCODE << 32));
  wrmsr(0xc0000082, (uint64_t)syscall_entry);
  wrmsr(0xc0000084, 0x47700);  /* clear IF, DF, TF, AC, NT on entry */

  lapic_enable();
  /* Free-running one-shot countdown (masked) for ring 3 to calibrate. */
  mmio_write32(LAPIC_BASE + 0x3e0, 0xb);  /* divide by 1 */
  mmio_write32(LAPIC_BASE + 0x320, 0x10000 | VEC_TIMER);
  mmio_write32(LAPIC_BASE + 0x380, 0xffffffff);

  enter_user((uint64_t)user_main, (uint64_t)ustack_top);
}

/* Block until a device interrupt arrives (irq_seq moves past seq) or the
 * TSC passes deadline (0: none). sti;hlt is atomic (STI shadow), so an
 * interrupt cannot slip in between the check and the halt. */
static uint64_t sys_wait(uint64_t seq, uint64_t deadline) {
  while (irq_seq == seq && (deadline == 0 || rdtsc() < deadline))
    __asm__ volatile("sti; hlt; cli" ::: "memory");
  return irq_seq;
}

static void uart_tx0(const char *s, uint64_t n);

static uint64_t pio_in(uint16_t port, uint64_t size) {
  if (size == 1) return inb(port);
  if (size == 2) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
  uint32_t v;
  __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

static void pio_out(uint16_t port, uint64_t v, uint64_t size) {
  if (size == 1) outb(port, (uint8_t)v);
  else if (size == 2) outw(port, (uint16_t)v);
  else outl(port, (uint32_t)v);
}

/* PIT channel 2 one-shot of `latch` ticks, timed with the TSC and the LAPIC
 * timer's count-down. Done here in one piece: a ring-3 loop would pay a
 * system call per poll of port 0x61. */
static void pit_wait(uint64_t latch, struct pit_sample *out) {
  outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));  /* gate on, speaker off */
  outb(0x43, 0xb0);                                   /* ch2, lo/hi, mode 0 */
  outb(0x42, (uint8_t)latch);
  outb(0x42, (uint8_t)(latch >> 8));
  uint64_t t0 = rdtsc(), t1 = t0;
  uint32_t a0 = mmio_read32(LAPIC_BASE + 0x390);
  int ok = !(inb(0x61) & 0x20);  /* OUT already high: no PIT */
  while (ok && !(inb(0x61) & 0x20))
    if ((t1 = rdtsc()) - t0 > 4000000000ull) ok = 0;
  t1 = rdtsc();
  out->ok = ok;
  out->tsc = t1 - t0;
  out->apic = a0 - mmio_read32(LAPIC_BASE + 0x390);
}

uint64_t syscall_dispatch(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2) {
  switch (nr) {
    case SYS_NOP:
      return 0;
    case SYS_WAIT:
      return sys_wait(a0, a1);
    case SYS_TIMER_START:
      mmio_write32(LAPIC_BASE + 0x320, 0x20000 | VEC_TIMER);  /* periodic */
      mmio_write32(LAPIC_BASE + 0x380, (uint32_t)a0);
      return 0;
    case SYS_IOAPIC_ROUTE:
      mmio_write32(a0, 0x10 + 2 * a1 + 1);
      mmio_write32(a0 + 0x10, (uint32_t)(a2 >> 32));
      mmio_write32(a0, 0x10 + 2 * a1);
      mmio_write32(a0 + 0x10, (uint32_t)a2);
      return 0;
    case SYS_PIO_IN:
      return pio_in((uint16_t)a0, a1);
    case SYS_PIO_OUT:
      pio_out((uint16_t)a0, a1, a2);
      return 0;
    case SYS_UART_WRITE:
      uart_tx0((const char *)a0, a1);
      return 0;
    case SYS_UART_READ: {
      uint64_t n = 0;
      while (n < a1 && (inb(0x3fd) & 1)) ((char *)a0)[n++] = (char)inb(0x3f8);
      return n;
    }
    case SYS_PIT_WAIT:
      pit_wait(a0, (struct pit_sample *)a1);
      return 0;
    case SYS_TRIPLE_FAULT: {
      static struct desc_ptr null_idt = {0, 0};
      __asm__ volatile("lidt %0; ud2" ::"m"(null_idt));
      return 0;
    }
  }
  return (uint64_t)-1;
}

/* Raw UART output for ring 0 (and SYS_UART_WRITE): poll THRE, write THR. */
static void uart_tx0(const char *s, uint64_t n) {
  for (; n; n--, s++) {
    while (!(inb(0x3fd) & 0x20)) {
    }
    outb(0x3f8, (uint8_t)*s);
  }
}

static void kprintf0(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  uart_tx0(buf, n < (int)sizeof(buf) ? (uint64_t)n : sizeof(buf) - 1);
}

static const char *const exc_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "?",
    "#MF", "#AC", "#MC", "#XM", "#VE", "#CP"};

void shell_run(void);

/* A fault in ring 3 ends the running command with an error line and
 * restarts the shell on a fresh stack; a fault in ring 0 is fatal. */
void exception_handler(struct exc_frame *f) {
  uint64_t cr2;
  __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
  const char *name = exc_names[f->vector & 31] ? exc_names[f->vector & 31] : "?";
  if ((f->cs & 3) == 3) {
    kprintf0("error: exception %lu %s in ring 3 err=0x%lx rip=0x%lx rsp=0x%lx cr2=0x%lx\n", f->vector, name,
             f->error, f->rip, f->rsp, cr2);
    enter_user((uint64_t)shell_run, (uint64_t)ustack_top);
  }
  kprintf0("\nfatal: exception %lu %s err=0x%lx rip=0x%lx cs=0x%lx rsp=0x%lx cr2=0x%lx rflags=0x%lx\n", f->vector,
           name, f->error, f->rip, f->cs, f->rsp, cr2, f->rflags);
  for (;;) __asm__ volatile("cli; hlt");
}

/* Application processors: report and idle with interrupts off. */
void ap_main(void) {
  __asm__ volatile("lidt %0" ::"m"(idtr));
  lapic_enable();
  uint32_t n = ap_index;
  kprintf0("cpu %u online\n", n);
  ap_online = n;
  for (;;) __asm__ volatile("cli; hlt");
}

/* Ring-3 side of the guest: declarations shared by its files. */
#ifndef BLIMP_GUEST_USER_H_
#define BLIMP_GUEST_USER_H_

#include "guest.h"

/* bootinfo.c: what the loader told us, copied out early. */
#define E820_MAX 128
struct e820_entry {
  uint64_t addr, size;
  uint32_t type;
};
struct bootinfo {
  char cmdline[2048];
  struct e820_entry e820[E820_MAX];
  uint32_t e820_count;
  uint64_t rsdp;  /* 0 if the loader did not say */
};
extern struct bootinfo bootinfo;
void bootinfo_read(void);

/* cmdline.c */
int cmdline_get(const char *cmdline, const char *key, char *val, size_t len);
int cmdline_flag(const char *cmdline, const char *key, int dflt);
struct virtio_mmio_dev {
  uint64_t size, base;
  uint32_t irq;
};
int cmdline_virtio_mmio(const char *cmdline, struct virtio_mmio_dev *devs, int max);

/* acpi.c */
struct gas {
  uint8_t space;  /* 0 memory, 1 I/O */
  uint8_t width, offset, access;
  uint64_t addr;
};
struct acpi_info {
  int found;
  uint64_t rsdp;
  int hw_reduced;
  struct gas sleep_ctl, reset_reg;
  uint8_t reset_value;
  int has_sleep_ctl, has_reset;
  uint32_t ncpus;
  uint8_t apic_ids[MAX_CPUS];
  uint64_t lapic, ioapic;
  uint32_t ioapic_gsi_base;
  uint32_t isa_gsi[16];
  uint16_t isa_flags[16];  /* MPS INTI flags from interrupt source overrides */
  uint64_t dsdt;
};
extern struct acpi_info acpi;
void acpi_init(uint64_t rsdp_hint);
/* virtio-mmio devices the DSDT describes (LNRO0005); returns how many. */
int acpi_virtio_mmio(struct virtio_mmio_dev *devs, int max);
void gas_write(const struct gas *g, uint64_t v);

/* clock.c */
extern uint64_t tsc_hz, apic_hz;
void clock_calibrate(void);
uint64_t now_us(void);
uint64_t tsc_to_us(uint64_t tsc);
void sleep_ms(uint64_t ms);
void spin_us(uint64_t us);

/* irq.c */
void irq_setup(void);

/* pagealloc.c */
void pagealloc_init(void);
uint64_t page_alloc(void);  /* physical address, 0 when out of memory */
void page_free(uint64_t pa);
uint64_t pages_total(void), pages_free(void), pages_used(void);
uint64_t block_take(int unreported_only);  /* 2 MiB block (512 pages) or 0 */
void block_put(uint64_t pa, int was_reported);
struct pagealloc_counters {
  uint64_t allocs, fails, frees;  /* page_alloc successes/failures, page_free calls */
};
extern struct pagealloc_counters pa_counters;

/* shell.c: `touch` commands that failed for lack of memory. */
extern uint64_t touch_oom_failures;

/* balloon.c: the virtio balloon driver (see README.md). */
void balloon_init(const struct virtio_mmio_dev *devs, int n);
uint64_t balloon_poll(int busy);   /* one driver step; returns the TSC deadline for its next step (0: none) */
void balloon_flush_messages(void); /* prints driver messages held back during a command */
uint64_t balloon_oom_release(void); /* allocator ran dry: pages given back (hinted, or deflate-on-oom) */
int cmd_balloon(int argc, char **argv);
int cmd_hostile(int argc, char **argv);

/* smp.c */
extern uint32_t cpus_online;
void smp_start(void);

/* power.c */
void power_off(void);
void power_reboot(void);

/* shell.c */
void shell_run(void) __attribute__((noreturn));

/* syscall.c */
uint64_t sys_call(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2);
static inline uint8_t uinb(uint16_t port) { return (uint8_t)sys_call(SYS_PIO_IN, port, 1, 0); }
static inline void uoutb(uint16_t port, uint8_t v) { sys_call(SYS_PIO_OUT, port, v, 1); }
static inline void uoutw(uint16_t port, uint16_t v) { sys_call(SYS_PIO_OUT, port, v, 2); }
static inline void uoutl(uint16_t port, uint32_t v) { sys_call(SYS_PIO_OUT, port, v, 4); }

/* uart.c: 16550A at 0x3f8, through system calls (see README: no IOPL). */
void uart_init(void);
void uart_putc(char c);
void uart_write(const char *s, size_t n);
int uart_getc(void);  /* -1 when nothing is waiting */
void uart_enable_rx_irq(void);
extern int uart_crlf;
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/* Declarations shared by the guest's C files (ring 0 and ring 3). */
#ifndef BLIMP_GUEST_GUEST_H_
#define BLIMP_GUEST_GUEST_H_

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"

#define KDATA __attribute__((section(".data")))  /* written before .bss is zeroed */
#define PACKED __attribute__((packed))

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint32_t mmio_read32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }

struct pit_sample {
  uint64_t ok, tsc, apic;
};

/* lib.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int parse_u64(const char *s, uint64_t *out);  /* decimal or 0x hex; 0 on error */


/* Ring 0 state visible to ring 3 (all RAM is user-readable). */
extern volatile uint64_t ticks;    /* LAPIC timer ticks */
extern volatile uint64_t irq_seq;  /* device interrupts seen */
/* The virtio interrupt (VEC_VIRTIO): its handler masks the IOAPIC pin by
 * writing IOREGSEL=virtio_ioapic_sel and IOWIN=virtio_ioapic_lo|mask, sets
 * virtio_irq_masked; ring 3 unmasks once it has read InterruptStatus. */
extern volatile uint64_t virtio_ioapic;
extern volatile uint32_t virtio_ioapic_sel, virtio_ioapic_lo, virtio_irq_masked;
extern volatile uint64_t virtio_irqs;
extern uint64_t boot_info_ptr;
extern uint32_t boot_kind;
extern uint64_t boot_tsc;
extern int use_int80;
extern volatile uint32_t ap_index, ap_online;
extern uint64_t ap_stack_top;
extern char _image_start[], _image_end[], __bss_start[], __bss_end[];
extern char ap_trampoline_start[], ap_trampoline_end[];
extern char ap_stacks[];
extern uint64_t pml4[];

#endif

/* Ring-3 virtio-mmio (version 2) transport and split virtqueues, written
 * from the virtio 1.1 spec (2.6 split virtqueues, 4.2 virtio over MMIO).
 * One CPU runs ring 3, so there is no locking. x86 keeps stores in order
 * and loads in order, so a compiler barrier between publishing steps is
 * enough (spec 2.6.13: ring entry before avail idx; used idx before used
 * entries). */
#ifndef BLIMP_GUEST_VIRTIO_H_
#define BLIMP_GUEST_VIRTIO_H_

#include "user.h"

/* 4.2.2 MMIO registers. */
#define VIRTIO_MMIO_MAGIC 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100
#define VIRTIO_MMIO_MAGIC_VALUE 0x74726976u /* "virt" */

#define VIRTIO_INT_USED 1
#define VIRTIO_INT_CONFIG 2

/* 2.1 device status. */
#define VIRTIO_S_ACKNOWLEDGE 1
#define VIRTIO_S_DRIVER 2
#define VIRTIO_S_DRIVER_OK 4
#define VIRTIO_S_FEATURES_OK 8
#define VIRTIO_S_NEEDS_RESET 64
#define VIRTIO_S_FAILED 128

#define VIRTIO_F_VERSION_1 32

/* 2.6.5 descriptor flags. */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2

struct virtq_desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags, next;
};
struct virtq_avail {
  uint16_t flags, idx, ring[];
};
struct virtq_used_elem {
  uint32_t id, len;
};
struct virtq_used {
  uint16_t flags, idx;
  struct virtq_used_elem ring[];
};

#define VQ_MAX_SIZE 256
#define VQ_AVAIL_OFF 0     /* in the ring page */
#define VQ_USED_OFF 1024   /* 6 + 8 * 256 = 2054 bytes: fits */

struct vq {
  uint64_t base;     /* device window */
  uint16_t index, size;
  uint64_t desc_pa, ring_pa;  /* one page each, from the page allocator */
  struct virtq_desc *desc;
  volatile struct virtq_avail *avail;
  volatile struct virtq_used *used;
  uint16_t free_head, num_free, avail_idx, last_used;
  /* Driver-side shadow of each chain (never read back from shared memory,
   * so a device or a hostile test that rewrites descriptors cannot make
   * the driver loop): link to the next descriptor of the chain or of the
   * free list, the chain length for heads (0: head not in flight), and
   * the caller's token. */
  uint16_t link[VQ_MAX_SIZE], chain_len[VQ_MAX_SIZE];
  uint64_t token[VQ_MAX_SIZE];
  uint32_t bogus_used;  /* used entries naming no chain in flight */
};

static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

static inline uint32_t vm_read(uint64_t base, uint32_t reg) { return mmio_read32(base + reg); }
static inline void vm_write(uint64_t base, uint32_t reg, uint32_t v) { mmio_write32(base + reg, v); }

/* A buffer of a chain: device-readable (out) or device-writable (in). */
struct vbuf {
  uint64_t addr;
  uint32_t len;
  int writable;
};

void vq_reset_state(struct vq *q);  /* fresh rings and free list (memory must exist) */
int vq_setup(struct vq *q);         /* QueueSel ... QueueReady; 0 on success */
/* Adds a chain (readable buffers first); returns its head or -1 if full. */
int vq_add(struct vq *q, const struct vbuf *bufs, int n, uint64_t token);
/* Takes n descriptors as a chain without filling them (hostile tests fill
 * them); ids[] gets the indices, head first. */
int vq_take(struct vq *q, int n, uint16_t *ids, uint64_t token);
void vq_publish(struct vq *q, uint16_t head);  /* avail entry, then idx */
void vq_kick(struct vq *q);
/* Pops one used entry: 1 and *token when it named a chain in flight, 0 when
 * nothing is pending, -1 for a bogus entry (counted). */
int vq_pop_used(struct vq *q, uint64_t *token);
static inline int vq_in_flight(const struct vq *q) { return q->size - q->num_free; }

#endif

/* Split virtqueues over virtio-mmio v2, in ring 3 (see virtio.h). */
#include "virtio.h"

void vq_reset_state(struct vq *q) {
  memset((void *)q->desc_pa, 0, 4096);
  memset((void *)q->ring_pa, 0, 4096);
  q->desc = (struct virtq_desc *)q->desc_pa;
  q->avail = (volatile struct virtq_avail *)(q->ring_pa + VQ_AVAIL_OFF);
  q->used = (volatile struct virtq_used *)(q->ring_pa + VQ_USED_OFF);
  q->free_head = 0;
  q->num_free = q->size;
  q->avail_idx = q->last_used = 0;
  for (uint16_t i = 0; i < q->size; i++) {
    q->link[i] = (uint16_t)(i + 1);
    q->chain_len[i] = 0;
    q->token[i] = 0;
  }
}

/* Spec 4.2.3.2: select, check not in use, size, addresses, ready. */
int vq_setup(struct vq *q) {
  vm_write(q->base, VIRTIO_MMIO_QUEUE_SEL, q->index);
  if (vm_read(q->base, VIRTIO_MMIO_QUEUE_READY)) return -1;
  uint32_t max = vm_read(q->base, VIRTIO_MMIO_QUEUE_NUM_MAX);
  if (!max) return -1;
  uint16_t size = VQ_MAX_SIZE;
  while (size > max) size >>= 1;  /* a power of 2 no larger than the max */
  q->size = size;
  if (!q->desc_pa) q->desc_pa = page_alloc();
  if (!q->ring_pa) q->ring_pa = page_alloc();
  if (!q->desc_pa || !q->ring_pa) return -1;
  vq_reset_state(q);
  uint64_t avail = q->ring_pa + VQ_AVAIL_OFF, used = q->ring_pa + VQ_USED_OFF;
  vm_write(q->base, VIRTIO_MMIO_QUEUE_NUM, size);
  vm_write(q->base, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc_pa);
  vm_write(q->base, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(q->desc_pa >> 32));
  vm_write(q->base, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
  vm_write(q->base, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
  vm_write(q->base, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
  vm_write(q->base, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
  vm_write(q->base, VIRTIO_MMIO_QUEUE_READY, 1);
  return vm_read(q->base, VIRTIO_MMIO_QUEUE_READY) == 1 ? 0 : -1;
}

int vq_take(struct vq *q, int n, uint16_t *ids, uint64_t token) {
  if (n < 1 || n > q->num_free) return -1;
  uint16_t head = q->free_head, d = head;
  for (int i = 0; i < n; i++) {
    ids[i] = d;
    if (i + 1 < n) d = q->link[d];
  }
  q->free_head = q->link[d];  /* the chain keeps its links in link[] */
  q->num_free = (uint16_t)(q->num_free - n);
  q->chain_len[head] = (uint16_t)n;
  q->token[head] = token;
  return head;
}

int vq_add(struct vq *q, const struct vbuf *bufs, int n, uint64_t token) {
  uint16_t ids[VQ_MAX_SIZE];
  int head = vq_take(q, n, ids, token);
  if (head < 0) return -1;
  for (int i = 0; i < n; i++) {
    struct virtq_desc *d = &q->desc[ids[i]];
    d->addr = bufs[i].addr;
    d->len = bufs[i].len;
    d->flags = (uint16_t)((bufs[i].writable ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
    d->next = i + 1 < n ? ids[i + 1] : 0;
  }
  vq_publish(q, (uint16_t)head);
  return head;
}

void vq_publish(struct vq *q, uint16_t head) {
  q->avail->ring[q->avail_idx % q->size] = head;
  barrier();  /* 2.6.13: the ring entry before the index that exposes it */
  q->avail_idx++;
  q->avail->idx = q->avail_idx;
  barrier();
}

void vq_kick(struct vq *q) {
  barrier();  /* avail idx before the notification */
  vm_write(q->base, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
}

static void vq_detach(struct vq *q, uint16_t head) {
  uint16_t n = q->chain_len[head], d = head;
  for (uint16_t i = 1; i < n; i++) d = q->link[d];
  q->link[d] = q->free_head;
  q->free_head = head;
  q->num_free = (uint16_t)(q->num_free + n);
  q->chain_len[head] = 0;
}

int vq_pop_used(struct vq *q, uint64_t *token) {
  uint16_t idx = q->used->idx;
  barrier();  /* 2.6.13: read the index before the entries it covers */
  if (idx == q->last_used) return 0;
  if ((uint16_t)(idx - q->last_used) > q->size) {  /* nonsense: skip it all */
    q->bogus_used++;
    q->last_used = idx;
    return -1;
  }
  struct virtq_used_elem e = q->used->ring[q->last_used % q->size];
  q->last_used++;
  if (e.id >= q->size || !q->chain_len[e.id]) {
    q->bogus_used++;
    return -1;
  }
  *token = q->token[e.id];
  vq_detach(q, (uint16_t)e.id);
  return 1;
}

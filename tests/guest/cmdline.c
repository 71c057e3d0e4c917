/* Kernel command-line options: space-separated `key=value` or `key` words
 * (double quotes group spaces). Repeated keys: cmdline_get returns the
 * first; cmdline_virtio_mmio collects every virtio_mmio.device=. */
#include "user.h"

/* Calls fn for each word; stops when fn returns nonzero. */
static int each_word(const char *s, int (*fn)(const char *w, size_t n, void *ctx), void *ctx) {
  while (*s) {
    while (*s == ' ' || *s == '\t') s++;
    if (!*s) break;
    const char *w = s;
    int quoted = 0;
    while (*s && (quoted || (*s != ' ' && *s != '\t'))) {
      if (*s == '"') quoted = !quoted;
      s++;
    }
    if (fn(w, (size_t)(s - w), ctx)) return 1;
  }
  return 0;
}

struct get_ctx {
  const char *key;
  char *val;
  size_t len;
};

static int get_fn(const char *w, size_t n, void *p) {
  struct get_ctx *c = p;
  size_t k = strlen(c->key);
  if (n < k || strncmp(w, c->key, k) || (n > k && w[k] != '=')) return 0;
  size_t o = 0;
  for (size_t i = k + 1; i < n && o + 1 < c->len; i++)
    if (w[i] != '"') c->val[o++] = w[i];
  if (c->len) c->val[o] = 0;
  return 1;
}

/* 1 if key is present (val = its value, "" for a bare word), else 0. */
int cmdline_get(const char *cmdline, const char *key, char *val, size_t len) {
  struct get_ctx c = {key, val, len};
  return each_word(cmdline, get_fn, &c);
}

int cmdline_flag(const char *cmdline, const char *key, int dflt) {
  char v[16];
  if (!cmdline_get(cmdline, key, v, sizeof(v))) return dflt;
  if (!v[0]) return 1;
  return !(strcmp(v, "0") == 0 || strcmp(v, "off") == 0 || strcmp(v, "no") == 0);
}

/* Linux's virtio_mmio.device=<size>@<base>:<irq>, size with K/M/G suffix. */
static int parse_size(const char **s, uint64_t *v) {
  uint64_t x = 0;
  int base = 10, any = 0;
  const char *p = *s;
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) base = 16, p += 2;
  for (;; p++, any = 1) {
    int d;
    if (*p >= '0' && *p <= '9') d = *p - '0';
    else if (base == 16 && *p >= 'a' && *p <= 'f') d = *p - 'a' + 10;
    else if (base == 16 && *p >= 'A' && *p <= 'F') d = *p - 'A' + 10;
    else break;
    x = x * (uint64_t)base + (uint64_t)d;
  }
  if (!any) return 0;
  if (*p == 'K' || *p == 'k') x <<= 10, p++;
  else if (*p == 'M' || *p == 'm') x <<= 20, p++;
  else if (*p == 'G' || *p == 'g') x <<= 30, p++;
  *s = p;
  *v = x;
  return 1;
}

struct vm_ctx {
  struct virtio_mmio_dev *devs;
  int max, n;
};

static int vm_fn(const char *w, size_t n, void *p) {
  static const char key[] = "virtio_mmio.device=";
  struct vm_ctx *c = p;
  if (n <= sizeof(key) - 1 || strncmp(w, key, sizeof(key) - 1) || c->n >= c->max) return 0;
  char buf[96];
  if (n >= sizeof(buf)) return 0;
  memcpy(buf, w, n);
  buf[n] = 0;
  const char *s = buf + sizeof(key) - 1;
  struct virtio_mmio_dev d;
  uint64_t irq;
  if (!parse_size(&s, &d.size) || *s++ != '@' || !parse_size(&s, &d.base) || *s++ != ':' || !parse_size(&s, &irq))
    return 0;
  d.irq = (uint32_t)irq;
  c->devs[c->n++] = d;
  return 0;
}

int cmdline_virtio_mmio(const char *cmdline, struct virtio_mmio_dev *devs, int max) {
  struct vm_ctx c = {devs, max, 0};
  each_word(cmdline, vm_fn, &c);
  return c.n;
}

/* Freestanding string and formatting helpers (used by ring 0 and ring 3). */
#include "guest.h"

void *memset(void *d, int c, size_t n) {
  unsigned char *p = d;
  while (n--) *p++ = (unsigned char)c;
  return d;
}

void *memcpy(void *d, const void *s, size_t n) {
  unsigned char *p = d;
  const unsigned char *q = s;
  while (n--) *p++ = *q++;
  return d;
}

int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *p = a, *q = b;
  for (; n; n--, p++, q++)
    if (*p != *q) return *p - *q;
  return 0;
}

size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

int strncmp(const char *a, const char *b, size_t n) {
  for (; n; n--, a++, b++) {
    if (*a != *b) return (unsigned char)*a - (unsigned char)*b;
    if (!*a) return 0;
  }
  return 0;
}

int strcmp(const char *a, const char *b) { return strncmp(a, b, (size_t)-1); }

int parse_u64(const char *s, uint64_t *out) {
  uint64_t v = 0;
  int base = 10;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
  }
  if (!*s) return 0;
  for (; *s; s++) {
    int d;
    if (*s >= '0' && *s <= '9') d = *s - '0';
    else if (base == 16 && *s >= 'a' && *s <= 'f') d = *s - 'a' + 10;
    else if (base == 16 && *s >= 'A' && *s <= 'F') d = *s - 'A' + 10;
    else return 0;
    if (v > ((uint64_t)-1 - (uint64_t)d) / (uint64_t)base) return 0;
    v = v * (uint64_t)base + (uint64_t)d;
  }
  *out = v;
  return 1;
}

struct out {
  char *buf;
  size_t size, len;
};

static void put(struct out *o, char c) {
  if (o->len + 1 < o->size) o->buf[o->len] = c;
  o->len++;
}

/* %d %u %x %lu %lx %llx %s %c %p %%, with optional '0' flag and width. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
  struct out o = {buf, size, 0};
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      put(&o, *fmt);
      continue;
    }
    fmt++;
    char pad = ' ';
    int width = 0, longs = 0;
    if (*fmt == '0') pad = '0', fmt++;
    while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
    while (*fmt == 'l') longs++, fmt++;
    char tmp[24];
    int n = 0;
    const char *s = NULL;
    switch (*fmt) {
      case 'd': {
        int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
        uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
        do tmp[n++] = (char)('0' + u % 10); while (u /= 10);
        if (v < 0) tmp[n++] = '-';
        break;
      }
      case 'u':
      case 'x':
      case 'p': {
        uint64_t u = (longs || *fmt == 'p') ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
        unsigned base = *fmt == 'u' ? 10 : 16;
        do tmp[n++] = "0123456789abcdef"[u % base]; while (u /= base);
        break;
      }
      case 'c':
        tmp[n++] = (char)va_arg(ap, int);
        break;
      case 's':
        s = va_arg(ap, const char *);
        if (!s) s = "(null)";
        n = (int)strlen(s);
        break;
      default:
        put(&o, '%');
        if (*fmt) put(&o, *fmt);
        else fmt--;
        continue;
    }
    for (int i = n; i < width; i++) put(&o, pad);
    if (s) {
      for (int i = 0; i < n; i++) put(&o, s[i]);
    } else {
      while (n) put(&o, tmp[--n]);
    }
  }
  if (o.size) o.buf[o.len < o.size ? o.len : o.size - 1] = 0;
  return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}

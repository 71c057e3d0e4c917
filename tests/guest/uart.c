/* Ring-3 console on the 16550A at 0x3f8. This KVM (PVM) does not honour
 * IOPL=3 for guest ring 3 (an `out` there raises #GP: measured), so port
 * I/O goes through system calls: one SYS_UART_WRITE per formatted string,
 * one SYS_UART_READ drains the receive buffer after an interrupt. */
#include "user.h"

#define COM1 0x3f8
#define IER 1
#define FCR 2
#define LCR 3
#define MCR 4

int uart_crlf;  /* "\r\n" line ends for interactive use (blimp.echo=1) */

void uart_init(void) {
  uoutb(COM1 + IER, 0);
  uoutb(COM1 + LCR, 0x80);  /* DLAB: 115200 baud */
  uoutb(COM1 + 0, 1);
  uoutb(COM1 + 1, 0);
  uoutb(COM1 + LCR, 0x03);  /* 8N1 */
  uoutb(COM1 + FCR, 0x07);  /* FIFO on and cleared, interrupt at 1 byte */
  uoutb(COM1 + MCR, 0x0b);  /* DTR, RTS, OUT2 (gates the IRQ line on PCs) */
}

void uart_enable_rx_irq(void) { uoutb(COM1 + IER, 0x01); }

void uart_write(const char *s, size_t n) {
  char buf[600];
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (o + 2 > sizeof(buf)) {
      sys_call(SYS_UART_WRITE, (uint64_t)buf, o, 0);
      o = 0;
    }
    if (s[i] == '\n' && uart_crlf) buf[o++] = '\r';
    buf[o++] = s[i];
  }
  if (o) sys_call(SYS_UART_WRITE, (uint64_t)buf, o, 0);
}

void uart_putc(char c) { uart_write(&c, 1); }

/* Buffered: one system call fetches everything the UART holds. */
int uart_getc(void) {
  static char rx[64];
  static uint64_t rx_len, rx_pos;
  if (rx_pos == rx_len) {
    rx_pos = 0;
    rx_len = sys_call(SYS_UART_READ, (uint64_t)rx, sizeof(rx), 0);
    if (!rx_len) return -1;
  }
  return (unsigned char)rx[rx_pos++];
}

void kprintf(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n > (int)sizeof(buf) - 1) n = sizeof(buf) - 1;
  uart_write(buf, (size_t)n);
}

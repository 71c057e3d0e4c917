// A one-instruction guest kernel: ring-0 `lock cmpxchg16b`, which this
// host's PVM instruction emulator cannot run (see kvm-here.md). blimp-vmm
// must report it with RIP and bytes and exit non-zero, not hang or crash.
  .text
  .globl _start
  .code64
_start:
  lock cmpxchg16b (%rsi)  // RSI = the zero page, 16-byte aligned.
1:
  hlt
  jmp 1b

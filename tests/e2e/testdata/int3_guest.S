// A one-instruction guest kernel: ring-0 `int3`, which this host's PVM
// instruction emulator cannot run (see kvm-here.md).
  .text
  .globl _start
  .code64
_start:
  int3
1:
  hlt
  jmp 1b

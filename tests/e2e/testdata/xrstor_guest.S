// A one-instruction guest kernel: ring-0 `xrstor`, which this host's PVM
// instruction emulator cannot run and blimp-vmm does not emulate.
  .text
  .globl _start
  .code64
_start:
  xor %eax, %eax
  xor %edx, %edx
  xrstor (%rsi)
1:
  hlt
  jmp 1b

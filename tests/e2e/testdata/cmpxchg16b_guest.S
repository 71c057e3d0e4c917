// Ring-0 `lock cmpxchg16b`, which this host's PVM instruction emulator
// cannot run: blimp-vmm emulates it. The guest checks the result and prints
// 'Y' (or 'N') on the serial port, then powers off through the ACPI sleep
// register.
  .text
  .globl _start
  .code64
_start:
  lea scratch(%rip), %rdi
  mov $1, %rax          // RDX:RAX = the value in memory: swap.
  mov $2, %rdx
  mov $3, %rbx
  mov $4, %rcx
  lock cmpxchg16b (%rdi)
  jnz fail
  cmpq $3, (%rdi)
  jne fail
  cmpq $4, 8(%rdi)
  jne fail
  mov $9, %rax          // A mismatch: loads memory into RDX:RAX, ZF clear.
  lock cmpxchg16b (%rdi)
  jz fail
  cmp $3, %rax
  jne fail
  cmp $4, %rdx
  jne fail
  mov $'Y', %al
  jmp report
fail:
  mov $'N', %al
report:
  mov $0x3f8, %dx
  out %al, %dx
  mov $'\n', %al
  out %al, %dx
  mov $0x600, %dx       // SLP_TYP=5 | SLP_EN.
  mov $0x34, %al
  out %al, %dx
1:
  hlt
  jmp 1b

  .data
  .balign 16
scratch:
  .quad 1, 2

// Decodes the few x86-64 instructions blimp-vmm completes for the guest
// when this host's KVM instruction emulator cannot (kvm-here.md): int3,
// cmpxchg8b / cmpxchg16b, popcnt, and recognises the xsave family so it can be
// named in reports. 64-bit mode only (the guest kernel's mode when these
// run). Pure code: bytes in, a description out. Encodings from the Intel
// SDM vol. 2, ch. 2 (prefixes, REX, ModRM/SIB) and the instruction pages.
#ifndef BLIMP_ARCH_X86_64_INSN_DECODE_H_
#define BLIMP_ARCH_X86_64_INSN_DECODE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace blimp::arch::x86_64::insn {

enum class Op {
  kInt3,        // CC
  kCmpxchg8b,   // 0F C7 /1, no REX.W
  kCmpxchg16b,  // REX.W 0F C7 /1
  kXsave,       // 0F AE /4 (mod != 3)
  kXrstor,      // 0F AE /5
  kXsaveopt,    // 0F AE /6
  kXgetbv,      // 0F 01 D0
  kXsetbv,      // 0F 01 D1
  kPopcnt,      // F3 0F B8 /r (patched in by the kernel's alternatives)
  kClac,        // 0F 01 CA (SMAP, patched in on kernel entry paths)
  kStac,        // 0F 01 CB
  kFwait,       // 9B (wait): checks for pending unmasked x87 exceptions
  kLdmxcsr,     // 0F AE /2 (mod != 3, no 66/F2/F3): MXCSR from m32
  kStmxcsr,     // 0F AE /3 (mod != 3, no 66/F2/F3): MXCSR to m32
  kMovdToXmm,   // 66 0F 6E /r: movd xmm, r/m32 (REX.W: movq xmm, r/m64)
};

enum class Segment { kNone, kFs, kGs };  // Other overrides are no-ops in 64-bit mode.

// A ModRM memory operand: [base + index*scale + disp], or [rip + disp].
struct MemOperand {
  std::optional<int> base;   // GPR number 0-15 (RAX=0 ... R15=15).
  std::optional<int> index;  // Never RSP (4) unextended: SIB index 100 = none.
  int scale = 1;
  int64_t disp = 0;
  bool rip_relative = false;
  bool addr32 = false;       // 0x67: the effective address is truncated to 32 bits.
  Segment segment = Segment::kNone;
};

struct Instruction {
  Op op;
  int length = 0;            // Bytes, prefixes included.
  bool lock = false;
  std::optional<MemOperand> mem;  // For the memory forms.
  // For instructions with a register operand (popcnt): ModRM.reg with REX.R,
  // the source register (register form, ModRM.rm with REX.B), and the
  // operand size in bytes (2, 4 or 8).
  int reg = 0;
  std::optional<int> rm_reg;
  int operand_size = 4;
};

// NotFound for an instruction outside the list above (or a register form of
// one); InvalidArgument if the bytes end before the instruction does.
absl::StatusOr<Instruction> Decode(absl::Span<const uint8_t> code);

const char* Mnemonic(Op op);

// GPR numbering of the ModRM/SIB fields (SDM table 2-2).
enum Gpr { kRax, kRcx, kRdx, kRbx, kRsp, kRbp, kRsi, kRdi, kR8, kR9, kR10, kR11, kR12, kR13, kR14, kR15 };

}  // namespace blimp::arch::x86_64::insn

#endif  // BLIMP_ARCH_X86_64_INSN_DECODE_H_

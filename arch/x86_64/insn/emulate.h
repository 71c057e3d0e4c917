// Completes, in user space, an instruction the host's KVM could not emulate
// (kvm-here.md): int3 becomes a #BP to inject, cmpxchg8b/cmpxchg16b run
// atomically on the guest's memory (a host `lock cmpxchg8b/16b` on the
// mapping, so other vCPUs see an atomic update) and set RDX:RAX / ZF as the
// SDM says, popcnt computes its result and flags, fwait checks CR0.TS/MP
// (#NM) and the x87 status word's ES bit (#MF) and is otherwise a no-op. Pure code: the caller supplies registers and a way to reach
// guest memory, and hands the result to KVM.
#ifndef BLIMP_ARCH_X86_64_INSN_EMULATE_H_
#define BLIMP_ARCH_X86_64_INSN_EMULATE_H_

#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "arch/x86_64/insn/decode.h"

namespace blimp::arch::x86_64::insn {

// The vCPU state these instructions read and write.
struct Cpu {
  uint64_t gpr[16] = {};  // Indexed by Gpr.
  uint64_t rip = 0;
  uint64_t rflags = 0;
  uint64_t fs_base = 0;
  uint64_t gs_base = 0;
  uint64_t cr0 = 0;
  // x87 status word (FSW), as KVM_GET_FPU reports it; read by fwait only.
  uint16_t fpu_status = 0;
  // Read and written by ldmxcsr/stmxcsr only.
  uint64_t cr4 = 0;
  uint32_t mxcsr = 0;
  uint32_t mxcsr_mask = 0;  // Bits ldmxcsr may set (FXSAVE's MXCSR_MASK); others #GP.
  // XMM0-15, little-endian (KVM_GET_FPU's layout); movd writes one.
  uint8_t xmm[16][16] = {};
};

constexpr uint64_t kRflagsZf = 1ull << 6;
constexpr uint8_t kVectorBreakpoint = 3;  // #BP, a trap: saved RIP is after int3.
constexpr uint8_t kVectorDeviceNotAvailable = 7;  // #NM, a fault.
constexpr uint8_t kVectorX87Error = 16;           // #MF, a fault.
constexpr uint8_t kVectorUndefined = 6;           // #UD, a fault.
constexpr uint8_t kVectorGeneralProtection = 13;  // #GP(error code), a fault.
constexpr uint64_t kCr0Em = 1ull << 2;
constexpr uint64_t kCr4Osfxsr = 1ull << 9;
constexpr uint64_t kCr0Mp = 1ull << 1;
constexpr uint64_t kCr0Ts = 1ull << 3;
constexpr uint64_t kCr0Ne = 1ull << 5;
constexpr uint16_t kFpuStatusEs = 1u << 7;  // Error summary: an unmasked exception is pending.

// Host address of `len` bytes of guest memory at a linear address, writable;
// the range never crosses a 4 KiB page (callers translate one page). An
// error status means the guest would take a #PF there.
using LinearToHost = std::function<absl::StatusOr<uint8_t*>(uint64_t linear, size_t len)>;

struct Outcome {
  // Set: inject this exception vector (no error code) with `cpu` as is.
  bool inject_exception = false;
  uint8_t vector = 0;
  bool has_error_code = false;
  uint32_t error_code = 0;
};

// The MXCSR_MASK of this host's CPU (FXSAVE bytes 28-31; 0 means 0xffbf,
// SDM vol. 1 11.6.6). Under PVM the guest runs on the host's CPU.
uint32_t HostMxcsrMask();

// The linear address of a memory operand (segment base included) for an
// instruction of `length` bytes at cpu.rip.
uint64_t EffectiveAddress(const MemOperand& mem, const Cpu& cpu, int length);

// Runs `insn` on `cpu` and memory, advancing RIP. Unimplemented for the
// instructions it only names (xsave family); FailedPrecondition where the
// CPU would fault (#GP on a misaligned cmpxchg16b, #PF on unmapped memory,
// an operand crossing a page), leaving `cpu` untouched.
absl::StatusOr<Outcome> Emulate(const Instruction& insn, Cpu* cpu, const LinearToHost& memory);

}  // namespace blimp::arch::x86_64::insn

#endif  // BLIMP_ARCH_X86_64_INSN_EMULATE_H_

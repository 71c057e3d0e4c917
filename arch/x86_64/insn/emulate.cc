#include "arch/x86_64/insn/emulate.h"

#include <cstring>

#include "absl/strings/str_format.h"

namespace blimp::arch::x86_64::insn {
namespace {

// Host lock cmpxchg16b on `p` (16-byte aligned): compares *p with
// expected_hi:expected_lo; on a match stores new_hi:new_lo. Returns ZF and
// leaves the value read in expected_*.
bool HostCmpxchg16b(uint8_t* p, uint64_t* expected_lo, uint64_t* expected_hi, uint64_t new_lo,
                    uint64_t new_hi) {
  bool zf;
  // SAFETY: p points into the guest RAM mapping, 16 bytes, 16-byte aligned
  // (checked by the caller); the mapping outlives the call.
  asm volatile("lock cmpxchg16b %[mem]\n\tsete %[zf]"
               : [mem] "+m"(*reinterpret_cast<unsigned __int128*>(p)), [zf] "=q"(zf),
                 "+a"(*expected_lo), "+d"(*expected_hi)
               : "b"(new_lo), "c"(new_hi)
               : "memory", "cc");
  return zf;
}

// The same for 8 bytes (no alignment needed, as on the guest's CPU).
bool HostCmpxchg8b(uint8_t* p, uint32_t* expected_lo, uint32_t* expected_hi, uint32_t new_lo,
                   uint32_t new_hi) {
  bool zf;
  // SAFETY: p points into the guest RAM mapping, 8 bytes within one page.
  asm volatile("lock cmpxchg8b %[mem]\n\tsete %[zf]"
               : [mem] "+m"(*reinterpret_cast<uint64_t*>(p)), [zf] "=q"(zf),
                 "+a"(*expected_lo), "+d"(*expected_hi)
               : "b"(new_lo), "c"(new_hi)
               : "memory", "cc");
  return zf;
}

}  // namespace

uint32_t HostMxcsrMask() {
  alignas(16) uint8_t area[512] = {};
  // SAFETY: fxsave writes exactly 512 bytes to a 16-byte aligned buffer.
  asm volatile("fxsave %0" : "=m"(area));
  uint32_t mask;
  std::memcpy(&mask, area + 28, 4);
  return mask == 0 ? 0xffbf : mask;
}

uint64_t EffectiveAddress(const MemOperand& mem, const Cpu& cpu, int length) {
  uint64_t addr = static_cast<uint64_t>(mem.disp);
  if (mem.rip_relative) addr += cpu.rip + length;
  if (mem.base) addr += cpu.gpr[*mem.base];
  if (mem.index) addr += cpu.gpr[*mem.index] * static_cast<uint64_t>(mem.scale);
  if (mem.addr32) addr &= 0xffffffffull;
  if (mem.segment == Segment::kFs) addr += cpu.fs_base;
  if (mem.segment == Segment::kGs) addr += cpu.gs_base;
  return addr;
}

absl::StatusOr<Outcome> Emulate(const Instruction& insn, Cpu* cpu, const LinearToHost& memory) {
  switch (insn.op) {
    case Op::kInt3:
      cpu->rip += insn.length;
      return Outcome{true, kVectorBreakpoint};
    case Op::kCmpxchg8b:
    case Op::kCmpxchg16b: {
      if (!insn.mem) return absl::InvalidArgumentError("no memory operand");
      const size_t size = insn.op == Op::kCmpxchg16b ? 16 : 8;
      uint64_t addr = EffectiveAddress(*insn.mem, *cpu, insn.length);
      if (size == 16 && addr % 16 != 0) {
        return absl::FailedPreconditionError(
            absl::StrFormat("cmpxchg16b on misaligned %#x (#GP)", addr));
      }
      if ((addr & 0xfff) + size > 0x1000) {
        return absl::FailedPreconditionError(
            absl::StrFormat("%s operand at %#x crosses a page", Mnemonic(insn.op), addr));
      }
      absl::StatusOr<uint8_t*> host = memory(addr, size);
      if (!host.ok()) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "%s operand at %#x: %s (#PF)", Mnemonic(insn.op), addr, host.status().message()));
      }
      bool zf;
      if (size == 16) {
        uint64_t lo = cpu->gpr[kRax], hi = cpu->gpr[kRdx];
        zf = HostCmpxchg16b(*host, &lo, &hi, cpu->gpr[kRbx], cpu->gpr[kRcx]);
        if (!zf) {
          cpu->gpr[kRax] = lo;
          cpu->gpr[kRdx] = hi;
        }
      } else {
        uint32_t lo = static_cast<uint32_t>(cpu->gpr[kRax]);
        uint32_t hi = static_cast<uint32_t>(cpu->gpr[kRdx]);
        zf = HostCmpxchg8b(*host, &lo, &hi, static_cast<uint32_t>(cpu->gpr[kRbx]),
                           static_cast<uint32_t>(cpu->gpr[kRcx]));
        if (!zf) {  // 32-bit register writes zero-extend in 64-bit mode.
          cpu->gpr[kRax] = lo;
          cpu->gpr[kRdx] = hi;
        }
      }
      cpu->rflags = zf ? (cpu->rflags | kRflagsZf) : (cpu->rflags & ~kRflagsZf);
      cpu->rip += insn.length;
      return Outcome{};
    }
    case Op::kClac:
    case Op::kStac: {
      constexpr uint64_t kRflagsAc = 1ull << 18;
      cpu->rflags = insn.op == Op::kStac ? (cpu->rflags | kRflagsAc) : (cpu->rflags & ~kRflagsAc);
      cpu->rip += insn.length;
      return Outcome{};
    }
    case Op::kFwait: {
      // SDM vol. 2, WAIT/FWAIT: #NM if CR0.MP and CR0.TS are both set; then
      // any pending unmasked x87 exception (FSW.ES) is delivered, as #MF
      // when CR0.NE is set. Both are faults: RIP stays on the fwait.
      if ((cpu->cr0 & kCr0Mp) && (cpu->cr0 & kCr0Ts)) {
        return Outcome{true, kVectorDeviceNotAvailable};
      }
      if (cpu->fpu_status & kFpuStatusEs) {
        if (!(cpu->cr0 & kCr0Ne)) {
          // Legacy (MS-DOS compatible) reporting through FERR#/IRQ 13: no
          // such wiring on a microVM.
          return absl::FailedPreconditionError(absl::StrFormat(
              "fwait with a pending x87 exception (FSW %#x) and CR0.NE clear (FERR# "
              "reporting not emulated)",
              cpu->fpu_status));
        }
        return Outcome{true, kVectorX87Error};
      }
      cpu->rip += insn.length;
      return Outcome{};
    }
    case Op::kLdmxcsr:
    case Op::kStmxcsr: {
      // SDM vol. 2, LDMXCSR/STMXCSR: #UD if CR0.EM or !CR4.OSFXSR, #NM if
      // CR0.TS, #GP(0) for reserved bits (ldmxcsr), #PF on the operand.
      if ((cpu->cr0 & kCr0Em) || !(cpu->cr4 & kCr4Osfxsr)) {
        return Outcome{true, kVectorUndefined};
      }
      if (cpu->cr0 & kCr0Ts) return Outcome{true, kVectorDeviceNotAvailable};
      if (!insn.mem) return absl::InvalidArgumentError("no memory operand");
      uint64_t addr = EffectiveAddress(*insn.mem, *cpu, insn.length);
      if ((addr & 0xfff) + 4 > 0x1000) {
        return absl::FailedPreconditionError(
            absl::StrFormat("%s operand at %#x crosses a page", Mnemonic(insn.op), addr));
      }
      absl::StatusOr<uint8_t*> host = memory(addr, 4);
      if (!host.ok()) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "%s operand at %#x: %s (#PF)", Mnemonic(insn.op), addr, host.status().message()));
      }
      if (insn.op == Op::kStmxcsr) {
        std::memcpy(*host, &cpu->mxcsr, 4);
      } else {
        uint32_t value;
        std::memcpy(&value, *host, 4);
        if (value & ~cpu->mxcsr_mask) {
          Outcome gp{true, kVectorGeneralProtection};
          gp.has_error_code = true;
          return gp;
        }
        cpu->mxcsr = value;
      }
      cpu->rip += insn.length;
      return Outcome{};
    }
    case Op::kMovdToXmm: {
      // SDM vol. 2, MOVD/MOVQ: #UD if CR0.EM or !CR4.OSFXSR, #NM if CR0.TS;
      // the value is zero-extended to 128 bits.
      if ((cpu->cr0 & kCr0Em) || !(cpu->cr4 & kCr4Osfxsr)) {
        return Outcome{true, kVectorUndefined};
      }
      if (cpu->cr0 & kCr0Ts) return Outcome{true, kVectorDeviceNotAvailable};
      const int size = insn.operand_size;
      uint64_t value = 0;
      if (insn.rm_reg) {
        value = cpu->gpr[*insn.rm_reg];
      } else {
        if (!insn.mem) return absl::InvalidArgumentError("no source operand");
        uint64_t addr = EffectiveAddress(*insn.mem, *cpu, insn.length);
        if ((addr & 0xfff) + size > 0x1000) {
          return absl::FailedPreconditionError(
              absl::StrFormat("movd operand at %#x crosses a page", addr));
        }
        absl::StatusOr<uint8_t*> host = memory(addr, size);
        if (!host.ok()) {
          return absl::FailedPreconditionError(absl::StrFormat(
              "movd operand at %#x: %s (#PF)", addr, host.status().message()));
        }
        std::memcpy(&value, *host, size);
      }
      if (size == 4) value &= 0xffffffffull;
      std::memset(cpu->xmm[insn.reg], 0, 16);
      std::memcpy(cpu->xmm[insn.reg], &value, 8);
      cpu->rip += insn.length;
      return Outcome{};
    }
    case Op::kPopcnt: {
      uint64_t src = 0;
      const int size = insn.operand_size;
      if (insn.rm_reg) {
        src = cpu->gpr[*insn.rm_reg];
      } else {
        if (!insn.mem) return absl::InvalidArgumentError("no source operand");
        uint64_t addr = EffectiveAddress(*insn.mem, *cpu, insn.length);
        if ((addr & 0xfff) + size > 0x1000) {
          return absl::FailedPreconditionError(
              absl::StrFormat("popcnt operand at %#x crosses a page", addr));
        }
        absl::StatusOr<uint8_t*> host = memory(addr, size);
        if (!host.ok()) {
          return absl::FailedPreconditionError(absl::StrFormat(
              "popcnt operand at %#x: %s (#PF)", addr, host.status().message()));
        }
        std::memcpy(&src, *host, size);
      }
      if (size < 8) src &= (1ull << (8 * size)) - 1;
      const uint64_t count = static_cast<uint64_t>(__builtin_popcountll(src));
      uint64_t& dst = cpu->gpr[insn.reg];
      if (size == 2) {
        dst = (dst & ~0xffffull) | count;
      } else {
        dst = count;  // 32-bit results zero-extend.
      }
      // OF, SF, AF, CF, PF cleared; ZF set when the source is zero.
      constexpr uint64_t kArith = 0x8d5;  // CF PF AF ZF SF OF
      cpu->rflags = (cpu->rflags & ~kArith) | (src == 0 ? kRflagsZf : 0);
      cpu->rip += insn.length;
      return Outcome{};
    }
    case Op::kXsave:
    case Op::kXrstor:
    case Op::kXsaveopt:
    case Op::kXgetbv:
    case Op::kXsetbv:
      break;
  }
  return absl::UnimplementedError(
      absl::StrFormat("%s is not emulated (boot with noxsave; CPUID hides it)",
                      Mnemonic(insn.op)));
}

}  // namespace blimp::arch::x86_64::insn

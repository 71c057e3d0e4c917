#include "arch/x86_64/insn/decode.h"

#include "absl/strings/str_format.h"

namespace blimp::arch::x86_64::insn {
namespace {

class Reader {
 public:
  explicit Reader(absl::Span<const uint8_t> code) : code_(code) {}
  bool Has(size_t n) const { return pos_ + n <= code_.size(); }
  uint8_t Peek() const { return code_[pos_]; }
  uint8_t Next() { return code_[pos_++]; }
  int64_t Signed(int bytes) {
    if (bytes == 0) return 0;  // A shift by 64 below would be undefined.
    uint64_t value = 0;
    for (int i = 0; i < bytes; ++i) value |= uint64_t{code_[pos_ + i]} << (8 * i);
    pos_ += bytes;
    int shift = 64 - 8 * bytes;
    return static_cast<int64_t>(value << shift) >> shift;
  }
  size_t pos() const { return pos_; }

 private:
  absl::Span<const uint8_t> code_;
  size_t pos_ = 0;
};

absl::Status Truncated() { return absl::InvalidArgumentError("instruction bytes end early"); }

}  // namespace

const char* Mnemonic(Op op) {
  switch (op) {
    case Op::kInt3: return "int3";
    case Op::kCmpxchg8b: return "cmpxchg8b";
    case Op::kCmpxchg16b: return "cmpxchg16b";
    case Op::kXsave: return "xsave";
    case Op::kXrstor: return "xrstor";
    case Op::kXsaveopt: return "xsaveopt";
    case Op::kXgetbv: return "xgetbv";
    case Op::kXsetbv: return "xsetbv";
    case Op::kPopcnt: return "popcnt";
    case Op::kClac: return "clac";
    case Op::kStac: return "stac";
    case Op::kFwait: return "fwait";
    case Op::kLdmxcsr: return "ldmxcsr";
    case Op::kStmxcsr: return "stmxcsr";
    case Op::kMovdToXmm: return "movd";
  }
  return "?";
}

absl::StatusOr<Instruction> Decode(absl::Span<const uint8_t> code) {
  Reader r(code);
  Instruction insn{};
  MemOperand mem;
  uint8_t rex = 0;
  bool rep = false, repne = false, opsize16 = false;
  // Legacy prefixes (any order), then at most one REX right before the opcode.
  for (;;) {
    if (!r.Has(1)) return Truncated();
    uint8_t b = r.Peek();
    if (b == 0xf0) {
      insn.lock = true;
    } else if (b == 0x64) {
      mem.segment = Segment::kFs;
    } else if (b == 0x65) {
      mem.segment = Segment::kGs;
    } else if (b == 0x67) {
      mem.addr32 = true;
    } else if (b == 0xf3) {
      rep = true;
    } else if (b == 0x66) {
      opsize16 = true;
    } else if (b == 0xf2) {
      repne = true;
    } else if (b == 0x2e || b == 0x36 || b == 0x3e || b == 0x26) {
      // Operand size / rep / ignored segment overrides: no effect on these.
    } else {
      break;
    }
    r.Next();
  }
  if ((r.Peek() & 0xf0) == 0x40) rex = r.Next();
  if (!r.Has(1)) return Truncated();
  uint8_t op = r.Next();
  if (op == 0xcc) {
    insn.op = Op::kInt3;
    insn.length = static_cast<int>(r.pos());
    return insn;
  }
  if (op == 0x9b) {
    insn.op = Op::kFwait;
    insn.length = static_cast<int>(r.pos());
    return insn;
  }
  if (op != 0x0f) return absl::NotFoundError(absl::StrFormat("opcode %#x not emulated", op));
  if (!r.Has(2)) return Truncated();
  uint8_t op2 = r.Next();
  uint8_t modrm = r.Next();
  int mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
  if (op2 == 0x01 && (modrm == 0xca || modrm == 0xcb)) {
    insn.op = modrm == 0xca ? Op::kClac : Op::kStac;
    insn.length = static_cast<int>(r.pos());
    return insn;
  }
  if (op2 == 0x01 && (modrm == 0xd0 || modrm == 0xd1)) {
    insn.op = modrm == 0xd0 ? Op::kXgetbv : Op::kXsetbv;
    insn.length = static_cast<int>(r.pos());
    return insn;
  }
  insn.reg = reg | ((rex & 0x04) << 1);
  insn.operand_size = (rex & 0x08) ? 8 : opsize16 ? 2 : 4;
  const bool popcnt = op2 == 0xb8 && rep;
  const bool movd = op2 == 0x6e && opsize16 && !rep && !repne;
  if (movd) {
    insn.op = Op::kMovdToXmm;
    insn.operand_size = (rex & 0x08) ? 8 : 4;
  }
  if (mod == 3) {
    if (movd) {
      insn.rm_reg = rm | ((rex & 0x01) << 3);
      insn.length = static_cast<int>(r.pos());
      return insn;
    }
    if (!popcnt) return absl::NotFoundError("register form not emulated");
    insn.op = Op::kPopcnt;
    insn.rm_reg = rm | ((rex & 0x01) << 3);
    insn.length = static_cast<int>(r.pos());
    return insn;
  }
  if (movd) {
    // Decoded above.
  } else if (popcnt) {
    insn.op = Op::kPopcnt;
  } else if (op2 == 0xc7 && reg == 1) {
    insn.op = (rex & 0x08) ? Op::kCmpxchg16b : Op::kCmpxchg8b;
  } else if (op2 == 0xae && (reg == 2 || reg == 3) && !rep && !repne && !opsize16) {
    insn.op = reg == 2 ? Op::kLdmxcsr : Op::kStmxcsr;
  } else if (op2 == 0xae && reg == 4) {
    insn.op = Op::kXsave;
  } else if (op2 == 0xae && reg == 5) {
    insn.op = Op::kXrstor;
  } else if (op2 == 0xae && reg == 6) {
    insn.op = Op::kXsaveopt;
  } else {
    return absl::NotFoundError(absl::StrFormat("0f %02x /%d not emulated", op2, reg));
  }
  // ModRM memory operand (SDM table 2-2, 2-3 with REX.B/X extensions).
  int disp_bytes = mod == 1 ? 1 : mod == 2 ? 4 : 0;
  if (rm == 4) {
    if (!r.Has(1)) return Truncated();
    uint8_t sib = r.Next();
    int scale = sib >> 6, index = ((sib >> 3) & 7) | ((rex & 0x02) << 2), base = sib & 7;
    if (index != kRsp) {
      mem.index = index;
      mem.scale = 1 << scale;
    }
    if (base == 5 && mod == 0) {
      disp_bytes = 4;  // No base: disp32.
    } else {
      mem.base = base | ((rex & 0x01) << 3);
    }
  } else if (rm == 5 && mod == 0) {
    mem.rip_relative = true;
    disp_bytes = 4;
  } else {
    mem.base = rm | ((rex & 0x01) << 3);
  }
  if (!r.Has(disp_bytes)) return Truncated();
  mem.disp = r.Signed(disp_bytes);
  insn.mem = mem;
  insn.length = static_cast<int>(r.pos());
  return insn;
}

}  // namespace blimp::arch::x86_64::insn

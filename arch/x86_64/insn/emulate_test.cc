// Emulation on synthetic register and memory states: a 2-page buffer stands
// for guest memory at linear kBase.
#include "arch/x86_64/insn/emulate.h"

#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace blimp::arch::x86_64::insn {
namespace {

constexpr uint64_t kBase = 0xffff888000100000ull;

class EmulateTest : public ::testing::Test {
 protected:
  EmulateTest() : ram_(2 * 4096) {
    cpu_.rip = 0xffffffff81000000ull;
    cpu_.rflags = 0x2;
  }

  LinearToHost Memory() {
    return [this](uint64_t linear, size_t len) -> absl::StatusOr<uint8_t*> {
      ++lookups_;
      if (linear < kBase || linear + len > kBase + ram_.size()) {
        return absl::NotFoundError("not mapped");
      }
      return ram_.data() + (linear - kBase);
    };
  }

  absl::StatusOr<Outcome> Run(std::vector<uint8_t> bytes) {
    auto insn = Decode(bytes);
    if (!insn.ok()) return insn.status();
    return Emulate(*insn, &cpu_, Memory());
  }

  void Put64(size_t offset, uint64_t v) { std::memcpy(&ram_[offset], &v, 8); }
  uint64_t Get64(size_t offset) {
    uint64_t v;
    std::memcpy(&v, &ram_[offset], 8);
    return v;
  }

  std::vector<uint8_t> ram_;
  Cpu cpu_;
  int lookups_ = 0;
};

TEST_F(EmulateTest, Int3AdvancesRipAndAsksForBreakpoint) {
  uint64_t rip = cpu_.rip;
  auto out = Run({0xcc});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->inject_exception);
  EXPECT_EQ(out->vector, 3);
  EXPECT_EQ(cpu_.rip, rip + 1);  // #BP is a trap: the handler sees RIP after int3.
  EXPECT_EQ(lookups_, 0);
}

TEST_F(EmulateTest, Cmpxchg16bMatchStoresRcxRbxAndSetsZf) {
  Put64(0x40, 0x1111);
  Put64(0x48, 0x2222);
  cpu_.gpr[kRsi] = kBase + 0x40;
  cpu_.gpr[kRax] = 0x1111;
  cpu_.gpr[kRdx] = 0x2222;
  cpu_.gpr[kRbx] = 0xaaaa;
  cpu_.gpr[kRcx] = 0xbbbb;
  uint64_t rip = cpu_.rip;
  auto out = Run({0xf0, 0x48, 0x0f, 0xc7, 0x0e});  // lock cmpxchg16b (%rsi)
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(out->inject_exception);
  EXPECT_EQ(Get64(0x40), 0xaaaau);
  EXPECT_EQ(Get64(0x48), 0xbbbbu);
  EXPECT_TRUE(cpu_.rflags & kRflagsZf);
  EXPECT_EQ(cpu_.gpr[kRax], 0x1111u);
  EXPECT_EQ(cpu_.gpr[kRdx], 0x2222u);
  EXPECT_EQ(cpu_.rip, rip + 5);
  EXPECT_EQ(cpu_.rflags & ~kRflagsZf, 0x2u);  // Other flags untouched.
}

TEST_F(EmulateTest, Cmpxchg16bMismatchLoadsRdxRaxAndClearsZf) {
  Put64(0x40, 0x1111);
  Put64(0x48, 0x2222);
  cpu_.rflags |= kRflagsZf;
  cpu_.gpr[kRsi] = kBase + 0x40;
  cpu_.gpr[kRax] = 0x1111;
  cpu_.gpr[kRdx] = 0x9999;  // High half differs.
  cpu_.gpr[kRbx] = 0xaaaa;
  cpu_.gpr[kRcx] = 0xbbbb;
  auto out = Run({0xf0, 0x48, 0x0f, 0xc7, 0x0e});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Get64(0x40), 0x1111u);  // Memory unchanged.
  EXPECT_EQ(Get64(0x48), 0x2222u);
  EXPECT_FALSE(cpu_.rflags & kRflagsZf);
  EXPECT_EQ(cpu_.gpr[kRax], 0x1111u);
  EXPECT_EQ(cpu_.gpr[kRdx], 0x2222u);
}

TEST_F(EmulateTest, Cmpxchg16bGsRelativeWithDisplacement) {
  // cmpxchg16b %gs:0x10(%rdi), as this_cpu_cmpxchg_double emits.
  cpu_.gs_base = kBase + 0x1000;
  cpu_.gpr[kRdi] = 0x20;
  Put64(0x1030, 7);
  Put64(0x1038, 8);
  cpu_.gpr[kRax] = 7;
  cpu_.gpr[kRdx] = 8;
  cpu_.gpr[kRbx] = 70;
  cpu_.gpr[kRcx] = 80;
  auto out = Run({0x65, 0x48, 0x0f, 0xc7, 0x4f, 0x10});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Get64(0x1030), 70u);
  EXPECT_EQ(Get64(0x1038), 80u);
}

TEST_F(EmulateTest, Cmpxchg16bSibAddressing) {
  // lock cmpxchg16b -0x100(%r12,%r13,8)
  cpu_.gpr[kR12] = kBase + 0x200;
  cpu_.gpr[kR13] = 0x10;  // + 0x80 - 0x100 = 0x180
  Put64(0x180, 1);
  Put64(0x188, 2);
  cpu_.gpr[kRax] = 1;
  cpu_.gpr[kRdx] = 2;
  cpu_.gpr[kRbx] = 3;
  cpu_.gpr[kRcx] = 4;
  auto out = Run({0xf0, 0x4b, 0x0f, 0xc7, 0x8c, 0xec, 0x00, 0xff, 0xff, 0xff});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Get64(0x180), 3u);
  EXPECT_EQ(Get64(0x188), 4u);
}

TEST_F(EmulateTest, RipRelativeUsesTheNextInstruction) {
  Instruction insn{};
  insn.op = Op::kCmpxchg16b;
  insn.length = 9;
  insn.mem = MemOperand{};
  insn.mem->rip_relative = true;
  insn.mem->disp = -0x10;
  cpu_.rip = kBase + 0x107;  // Next instruction at 0x110; operand at 0x100.
  EXPECT_EQ(EffectiveAddress(*insn.mem, cpu_, insn.length), kBase + 0x100);
}

TEST_F(EmulateTest, Cmpxchg16bMisalignedIsGpAndLeavesStateAlone) {
  cpu_.gpr[kRsi] = kBase + 0x48;
  Cpu before = cpu_;
  auto out = Run({0xf0, 0x48, 0x0f, 0xc7, 0x0e});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(out.status().message().find("#GP"), absl::string_view::npos);
  EXPECT_EQ(cpu_.rip, before.rip);
  EXPECT_EQ(lookups_, 0);
}

TEST_F(EmulateTest, UnmappedOperandIsPageFault) {
  cpu_.gpr[kRsi] = 0x1000;
  uint64_t rip = cpu_.rip;
  auto out = Run({0xf0, 0x48, 0x0f, 0xc7, 0x0e});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(out.status().message().find("#PF"), absl::string_view::npos);
  EXPECT_EQ(cpu_.rip, rip);
}

TEST_F(EmulateTest, Cmpxchg8bMatchAndMismatchZeroExtend) {
  Put64(0x10, 0x0000000200000001ull);  // [0x10] = edx:eax 2:1
  cpu_.gpr[kRbx] = 0xffffffff00000005ull;  // Upper halves ignored.
  cpu_.gpr[kRcx] = 0xffffffff00000006ull;
  cpu_.gpr[kRax] = 0xdead000000000001ull;
  cpu_.gpr[kRdx] = 0xdead000000000002ull;
  cpu_.gpr[kRdi] = kBase + 0x10;
  auto out = Run({0xf0, 0x0f, 0xc7, 0x0f});  // lock cmpxchg8b (%rdi)
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Get64(0x10), 0x0000000600000005ull);
  EXPECT_TRUE(cpu_.rflags & kRflagsZf);
  EXPECT_EQ(cpu_.gpr[kRax], 0xdead000000000001ull);  // Untouched on success.

  out = Run({0xf0, 0x0f, 0xc7, 0x0f});  // Now memory is 6:5, expected still 2:1.
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(cpu_.rflags & kRflagsZf);
  EXPECT_EQ(cpu_.gpr[kRax], 5u);  // Loaded and zero-extended.
  EXPECT_EQ(cpu_.gpr[kRdx], 6u);
}

TEST_F(EmulateTest, OperandCrossingAPageIsRefused) {
  cpu_.gpr[kRdi] = kBase + 0xffc;
  auto out = Run({0xf0, 0x0f, 0xc7, 0x0f});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(EmulateTest, XrstorIsNotEmulated) {
  cpu_.gpr[kRdi] = kBase;
  uint64_t rip = cpu_.rip;
  auto out = Run({0x0f, 0xae, 0x2f});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(cpu_.rip, rip);
}

}  // namespace
}  // namespace blimp::arch::x86_64::insn

namespace blimp::arch::x86_64::insn {
namespace {

TEST_F(EmulateTest, PopcntRegister64SetsCountAndFlags) {
  cpu_.gpr[kRdi] = 0xf0f0000000000001ull;
  cpu_.rflags = 0x2 | 0x8d5;  // All arithmetic flags set.
  uint64_t rip = cpu_.rip;
  auto out = Run({0xf3, 0x48, 0x0f, 0xb8, 0xc7});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(cpu_.gpr[kRax], 9u);
  EXPECT_EQ(cpu_.rflags, 0x2u);
  EXPECT_EQ(cpu_.rip, rip + 5);
  cpu_.gpr[kRdi] = 0;
  ASSERT_TRUE(Run({0xf3, 0x48, 0x0f, 0xb8, 0xc7}).ok());
  EXPECT_EQ(cpu_.gpr[kRax], 0u);
  EXPECT_EQ(cpu_.rflags, 0x2u | kRflagsZf);
}

TEST_F(EmulateTest, PopcntMemory32ZeroExtendsAnd16Merges) {
  Put64(0x10, 0xffffffff000000ffull);
  cpu_.gpr[kRsi] = kBase + 0x8;
  cpu_.gpr[kR9] = 0xdeadbeefdeadbeefull;
  ASSERT_TRUE(Run({0xf3, 0x44, 0x0f, 0xb8, 0x4e, 0x08}).ok());  // popcnt 0x8(%rsi),%r9d
  EXPECT_EQ(cpu_.gpr[kR9], 8u);
  cpu_.gpr[kRcx] = 0xffff0007;
  cpu_.gpr[kRdx] = 0x1234567812345678ull;
  ASSERT_TRUE(Run({0x66, 0xf3, 0x0f, 0xb8, 0xd1}).ok());  // popcnt %cx,%dx
  EXPECT_EQ(cpu_.gpr[kRdx], 0x1234567812340003ull);
}

}  // namespace
}  // namespace blimp::arch::x86_64::insn

namespace blimp::arch::x86_64::insn {
namespace {

TEST_F(EmulateTest, ClacStacFlipAcOnly) {
  uint64_t rip = cpu_.rip;
  ASSERT_TRUE(Run({0x0f, 0x01, 0xcb}).ok());  // stac
  EXPECT_EQ(cpu_.rflags, 0x2u | (1u << 18));
  ASSERT_TRUE(Run({0x0f, 0x01, 0xca}).ok());  // clac
  EXPECT_EQ(cpu_.rflags, 0x2u);
  EXPECT_EQ(cpu_.rip, rip + 6);
}

// Linux's kernel runs with CR0 = PE MP ET NE WP PG (0x80050033) and TS clear.
constexpr uint64_t kLinuxCr0 = 0x80050033;

TEST_F(EmulateTest, FwaitWithNothingPendingIsANop) {
  cpu_.cr0 = kLinuxCr0;
  cpu_.fpu_status = 0x3800;  // TOP=7, no exception flags.
  cpu_.gpr[kRax] = 0x1234;
  uint64_t rip = cpu_.rip;
  auto out = Run({0x9b});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(out->inject_exception);
  EXPECT_EQ(cpu_.rip, rip + 1);
  EXPECT_EQ(cpu_.rflags, 0x2u);
  EXPECT_EQ(cpu_.gpr[kRax], 0x1234u);
  EXPECT_EQ(lookups_, 0);
}

TEST_F(EmulateTest, FwaitWithMaskedExceptionFlagsOnlyIsANop) {
  // PE and UE set but masked by FCW: ES stays clear, nothing is delivered.
  cpu_.cr0 = kLinuxCr0;
  cpu_.fpu_status = 0x0030;
  uint64_t rip = cpu_.rip;
  auto out = Run({0x9b});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(out->inject_exception);
  EXPECT_EQ(cpu_.rip, rip + 1);
}

TEST_F(EmulateTest, FwaitWithPendingExceptionInjectsMfAtTheFwait) {
  cpu_.cr0 = kLinuxCr0;
  cpu_.fpu_status = 0x8081;  // B, ES, IE: an unmasked invalid operation.
  uint64_t rip = cpu_.rip;
  auto out = Run({0x9b});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->inject_exception);
  EXPECT_EQ(out->vector, 16);
  EXPECT_EQ(cpu_.rip, rip);  // #MF is a fault: reported on the fwait.
}

TEST_F(EmulateTest, FwaitWithTsAndMpRaisesNmFirst) {
  cpu_.cr0 = kLinuxCr0 | kCr0Ts;
  cpu_.fpu_status = 0x8081;
  uint64_t rip = cpu_.rip;
  auto out = Run({0x9b});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->inject_exception);
  EXPECT_EQ(out->vector, 7);
  EXPECT_EQ(cpu_.rip, rip);
}

TEST_F(EmulateTest, FwaitWithTsButNoMpIsNotNm) {
  cpu_.cr0 = (kLinuxCr0 & ~kCr0Mp) | kCr0Ts;
  cpu_.fpu_status = 0;
  uint64_t rip = cpu_.rip;
  auto out = Run({0x9b});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(out->inject_exception);
  EXPECT_EQ(cpu_.rip, rip + 1);
}

TEST_F(EmulateTest, FwaitPendingWithoutNeIsRefusedUntouched) {
  cpu_.cr0 = kLinuxCr0 & ~kCr0Ne;
  cpu_.fpu_status = 0x8081;
  uint64_t rip = cpu_.rip;
  auto out = Run({0x9b});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition) << out.status();
  EXPECT_EQ(cpu_.rip, rip);
}

constexpr uint64_t kLinuxCr4 = 0x110eb0;  // OSFXSR among others.
uint32_t Get32(const std::vector<uint8_t>& ram, size_t offset) {
  uint32_t v;
  std::memcpy(&v, &ram[offset], 4);
  return v;
}

TEST_F(EmulateTest, LdmxcsrLoadsFromMemory) {
  cpu_.cr0 = kLinuxCr0;
  cpu_.cr4 = kLinuxCr4;
  cpu_.mxcsr = 0x1f80;
  cpu_.mxcsr_mask = 0xffff;
  Put64(0x104, 0x1fa0);  // [rsp+4]
  cpu_.gpr[kRsp] = kBase + 0x100;
  uint64_t rip = cpu_.rip;
  auto out = Run({0x0f, 0xae, 0x54, 0x24, 0x04});  // ldmxcsr 0x4(%rsp), as in Linux
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(out->inject_exception);
  EXPECT_EQ(cpu_.mxcsr, 0x1fa0u);
  EXPECT_EQ(cpu_.rip, rip + 5);
  EXPECT_EQ(cpu_.rflags, 0x2u);
}

TEST_F(EmulateTest, LdmxcsrReservedBitIsGpZeroAndLeavesMxcsr) {
  cpu_.cr0 = kLinuxCr0;
  cpu_.cr4 = kLinuxCr4;
  cpu_.mxcsr = 0x1f80;
  cpu_.mxcsr_mask = 0xffff;
  Put64(0x104, 0x11f80);
  cpu_.gpr[kRsp] = kBase + 0x100;
  uint64_t rip = cpu_.rip;
  auto out = Run({0x0f, 0xae, 0x54, 0x24, 0x04});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->inject_exception);
  EXPECT_EQ(out->vector, 13);
  EXPECT_TRUE(out->has_error_code);
  EXPECT_EQ(out->error_code, 0u);
  EXPECT_EQ(cpu_.mxcsr, 0x1f80u);
  EXPECT_EQ(cpu_.rip, rip);
}

TEST_F(EmulateTest, StmxcsrStoresToMemory) {
  cpu_.cr0 = kLinuxCr0;
  cpu_.cr4 = kLinuxCr4;
  cpu_.mxcsr = 0x1f80;
  cpu_.gpr[kRdi] = kBase + 0x200;
  uint64_t rip = cpu_.rip;
  auto out = Run({0x0f, 0xae, 0x1f});  // stmxcsr (%rdi)
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(out->inject_exception);
  EXPECT_EQ(Get32(ram_, 0x200), 0x1f80u);
  EXPECT_EQ(cpu_.rip, rip + 3);
}

TEST_F(EmulateTest, MxcsrFaultsUdWithoutOsfxsrAndNmWithTs) {
  cpu_.cr0 = kLinuxCr0;
  cpu_.cr4 = 0;
  cpu_.gpr[kRdi] = kBase;
  auto ud = Run({0x0f, 0xae, 0x17});  // ldmxcsr (%rdi)
  ASSERT_TRUE(ud.ok()) << ud.status();
  EXPECT_EQ(ud->vector, 6);
  cpu_.cr4 = kLinuxCr4;
  cpu_.cr0 = kLinuxCr0 | kCr0Ts;
  auto nm = Run({0x0f, 0xae, 0x17});
  ASSERT_TRUE(nm.ok()) << nm.status();
  EXPECT_EQ(nm->vector, 7);
  EXPECT_EQ(lookups_, 0);
}

TEST_F(EmulateTest, LdmxcsrUnmappedIsRefused) {
  cpu_.cr0 = kLinuxCr0;
  cpu_.cr4 = kLinuxCr4;
  cpu_.gpr[kRdi] = 0x1000;
  auto out = Run({0x0f, 0xae, 0x17});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(HostMxcsrMaskTest, CoversTheDefaultBits) {
  EXPECT_EQ(HostMxcsrMask() & 0xffbf, 0xffbfu);
}

TEST_F(EmulateTest, MovdToXmmZeroExtends) {
  cpu_.cr0 = kLinuxCr0;
  cpu_.cr4 = kLinuxCr4;
  std::memset(cpu_.xmm[15], 0xee, 16);
  cpu_.gpr[kRcx] = 0xffffffff12345678ull;
  uint64_t rip = cpu_.rip;
  auto out = Run({0x66, 0x44, 0x0f, 0x6e, 0xf9});  // movd %ecx,%xmm15, as in Linux
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(out->inject_exception);
  uint8_t want[16] = {0x78, 0x56, 0x34, 0x12};
  EXPECT_EQ(std::memcmp(cpu_.xmm[15], want, 16), 0);
  EXPECT_EQ(cpu_.rip, rip + 5);
  cpu_.gpr[kRax] = 0x1122334455667788ull;
  out = Run({0x66, 0x48, 0x0f, 0x6e, 0xc0});  // movq %rax,%xmm0
  ASSERT_TRUE(out.ok()) << out.status();
  uint64_t lo, hi;
  std::memcpy(&lo, cpu_.xmm[0], 8);
  std::memcpy(&hi, cpu_.xmm[0] + 8, 8);
  EXPECT_EQ(lo, 0x1122334455667788ull);
  EXPECT_EQ(hi, 0u);
  Put64(0x300, 0xaabbccdd99887766ull);
  cpu_.gpr[kRsi] = kBase + 0x300;
  out = Run({0x66, 0x0f, 0x6e, 0x0e});  // movd (%rsi),%xmm1
  ASSERT_TRUE(out.ok()) << out.status();
  std::memcpy(&lo, cpu_.xmm[1], 8);
  EXPECT_EQ(lo, 0x99887766u);
  cpu_.cr0 |= kCr0Ts;
  out = Run({0x66, 0x0f, 0x6e, 0x0e});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->vector, 7);
}

}  // namespace
}  // namespace blimp::arch::x86_64::insn

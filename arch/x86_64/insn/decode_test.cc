// Encodings as GNU as emits them (objdump -d of the same source).
#include "arch/x86_64/insn/decode.h"

#include <vector>

#include "gtest/gtest.h"

namespace blimp::arch::x86_64::insn {
namespace {

Instruction MustDecode(std::vector<uint8_t> bytes) {
  auto insn = Decode(bytes);
  EXPECT_TRUE(insn.ok()) << insn.status();
  return insn.ok() ? *insn : Instruction{};
}

TEST(DecodeTest, Int3) {
  Instruction insn = MustDecode({0xcc, 0x90, 0x90});
  EXPECT_EQ(insn.op, Op::kInt3);
  EXPECT_EQ(insn.length, 1);
  EXPECT_FALSE(insn.mem.has_value());
}

TEST(DecodeTest, LockCmpxchg16bBaseRegister) {
  // lock cmpxchg16b (%rsi)
  Instruction insn = MustDecode({0xf0, 0x48, 0x0f, 0xc7, 0x0e});
  EXPECT_EQ(insn.op, Op::kCmpxchg16b);
  EXPECT_TRUE(insn.lock);
  EXPECT_EQ(insn.length, 5);
  ASSERT_TRUE(insn.mem.has_value());
  EXPECT_EQ(insn.mem->base, kRsi);
  EXPECT_FALSE(insn.mem->index.has_value());
  EXPECT_EQ(insn.mem->disp, 0);
  EXPECT_EQ(insn.mem->segment, Segment::kNone);
}

TEST(DecodeTest, GsPercpuCmpxchg16bWithDisp8) {
  // cmpxchg16b %gs:0x10(%rdi)  (this_cpu_cmpxchg_double has no lock)
  Instruction insn = MustDecode({0x65, 0x48, 0x0f, 0xc7, 0x4f, 0x10});
  EXPECT_EQ(insn.op, Op::kCmpxchg16b);
  EXPECT_FALSE(insn.lock);
  EXPECT_EQ(insn.length, 6);
  EXPECT_EQ(insn.mem->base, kRdi);
  EXPECT_EQ(insn.mem->disp, 0x10);
  EXPECT_EQ(insn.mem->segment, Segment::kGs);
}

TEST(DecodeTest, ExtendedRegistersSibAndNegativeDisp32) {
  // lock cmpxchg16b -0x100(%r12,%r13,8): REX.WXB = 0x4b, SIB, disp32.
  Instruction insn =
      MustDecode({0xf0, 0x4b, 0x0f, 0xc7, 0x8c, 0xec, 0x00, 0xff, 0xff, 0xff});
  EXPECT_EQ(insn.op, Op::kCmpxchg16b);
  EXPECT_EQ(insn.length, 10);
  EXPECT_EQ(insn.mem->base, kR12);
  EXPECT_EQ(insn.mem->index, kR13);
  EXPECT_EQ(insn.mem->scale, 8);
  EXPECT_EQ(insn.mem->disp, -0x100);
}

TEST(DecodeTest, RspBaseNeedsSibWithoutIndex) {
  // cmpxchg8b 0x8(%rsp)
  Instruction insn = MustDecode({0x0f, 0xc7, 0x4c, 0x24, 0x08});
  EXPECT_EQ(insn.op, Op::kCmpxchg8b);
  EXPECT_EQ(insn.mem->base, kRsp);
  EXPECT_FALSE(insn.mem->index.has_value());
  EXPECT_EQ(insn.mem->disp, 8);
  EXPECT_EQ(insn.length, 5);
}

TEST(DecodeTest, R12IndexIsAnIndexWithRexX) {
  // cmpxchg16b (%rax,%r12,1): SIB index 100 with REX.X is r12, not "none".
  Instruction insn = MustDecode({0x4a, 0x0f, 0xc7, 0x0c, 0x20});
  EXPECT_EQ(insn.mem->base, kRax);
  EXPECT_EQ(insn.mem->index, kR12);
}

TEST(DecodeTest, RipRelativeAndNoBase) {
  // lock cmpxchg16b 0x1000(%rip)
  Instruction rip = MustDecode({0xf0, 0x48, 0x0f, 0xc7, 0x0d, 0x00, 0x10, 0x00, 0x00});
  EXPECT_TRUE(rip.mem->rip_relative);
  EXPECT_EQ(rip.mem->disp, 0x1000);
  EXPECT_EQ(rip.length, 9);
  // cmpxchg16b 0x2000 (SIB, no base, no index, disp32)
  Instruction abs = MustDecode({0x48, 0x0f, 0xc7, 0x0c, 0x25, 0x00, 0x20, 0x00, 0x00});
  EXPECT_FALSE(abs.mem->base.has_value());
  EXPECT_FALSE(abs.mem->index.has_value());
  EXPECT_FALSE(abs.mem->rip_relative);
  EXPECT_EQ(abs.mem->disp, 0x2000);
}

TEST(DecodeTest, RbpAndR13BaseNeedDisp) {
  // cmpxchg16b 0x0(%r13): mod=01 rm=101 with REX.B.
  Instruction insn = MustDecode({0x49, 0x0f, 0xc7, 0x4d, 0x00});
  EXPECT_EQ(insn.mem->base, kR13);
  EXPECT_FALSE(insn.mem->rip_relative);
  EXPECT_EQ(insn.length, 5);
}

TEST(DecodeTest, AddressSizeOverride) {
  // addr32 cmpxchg8b (%eax)
  Instruction insn = MustDecode({0x67, 0x0f, 0xc7, 0x08});
  EXPECT_TRUE(insn.mem->addr32);
  EXPECT_EQ(insn.length, 4);
}

TEST(DecodeTest, XsaveFamilyIsNamed) {
  EXPECT_EQ(MustDecode({0x0f, 0xae, 0x2f}).op, Op::kXrstor);   // xrstor (%rdi)
  EXPECT_EQ(MustDecode({0x48, 0x0f, 0xae, 0x27}).op, Op::kXsave);  // xsave64 (%rdi)
  EXPECT_EQ(MustDecode({0x0f, 0xae, 0x37}).op, Op::kXsaveopt);
  EXPECT_EQ(MustDecode({0x0f, 0x01, 0xd0}).op, Op::kXgetbv);
  EXPECT_EQ(MustDecode({0x0f, 0x01, 0xd1}).op, Op::kXsetbv);
}

TEST(DecodeTest, OthersAreNotFound) {
  EXPECT_EQ(Decode(std::vector<uint8_t>{0x90}).status().code(), absl::StatusCode::kNotFound);
  // lfence (0f ae e8) is the register form of 0f ae.
  EXPECT_EQ(Decode(std::vector<uint8_t>{0x0f, 0xae, 0xe8}).status().code(),
            absl::StatusCode::kNotFound);
  // rdrand %eax (0f c7 /6)
  EXPECT_EQ(Decode(std::vector<uint8_t>{0x0f, 0xc7, 0xf0}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(DecodeTest, TruncatedIsInvalid) {
  EXPECT_EQ(Decode(std::vector<uint8_t>{}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Decode(std::vector<uint8_t>{0xf0, 0x48, 0x0f, 0xc7}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Decode(std::vector<uint8_t>{0x48, 0x0f, 0xc7, 0x8e, 0x00}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace blimp::arch::x86_64::insn

namespace blimp::arch::x86_64::insn {
namespace {

TEST(DecodeTest, PopcntRegisterAndMemoryForms) {
  // popcnt %rdi,%rax (the kernel's patched __arch_hweight64)
  Instruction reg = MustDecode({0xf3, 0x48, 0x0f, 0xb8, 0xc7});
  EXPECT_EQ(reg.op, Op::kPopcnt);
  EXPECT_EQ(reg.length, 5);
  EXPECT_EQ(reg.reg, kRax);
  EXPECT_EQ(reg.rm_reg, kRdi);
  EXPECT_EQ(reg.operand_size, 8);
  // popcnt 0x8(%rsi),%r9d
  Instruction mem = MustDecode({0xf3, 0x44, 0x0f, 0xb8, 0x4e, 0x08});
  EXPECT_EQ(mem.reg, kR9);
  EXPECT_FALSE(mem.rm_reg.has_value());
  EXPECT_EQ(mem.mem->base, kRsi);
  EXPECT_EQ(mem.operand_size, 4);
  // popcnt %cx,%dx
  EXPECT_EQ(MustDecode({0x66, 0xf3, 0x0f, 0xb8, 0xd1}).operand_size, 2);
  // Without F3, 0f b8 is jmpe (not emulated).
  EXPECT_FALSE(Decode(std::vector<uint8_t>{0x0f, 0xb8, 0xc7}).ok());
}

TEST(DecodeTest, Fwait) {
  uint8_t code[] = {0x9b, 0x65, 0x48, 0xc7};  // fwait, then the next instruction.
  auto insn = Decode(code);
  ASSERT_TRUE(insn.ok()) << insn.status();
  EXPECT_EQ(insn->op, Op::kFwait);
  EXPECT_EQ(insn->length, 1);
  EXPECT_FALSE(insn->mem.has_value());
  EXPECT_STREQ(Mnemonic(insn->op), "fwait");
}

TEST(DecodeTest, LdmxcsrStmxcsrMemoryFormsOnly) {
  uint8_t ld[] = {0x0f, 0xae, 0x54, 0x24, 0x04};
  auto insn = Decode(ld);
  ASSERT_TRUE(insn.ok()) << insn.status();
  EXPECT_EQ(insn->op, Op::kLdmxcsr);
  EXPECT_EQ(insn->length, 5);
  ASSERT_TRUE(insn->mem.has_value());
  EXPECT_EQ(insn->mem->base, kRsp);
  EXPECT_EQ(insn->mem->disp, 4);
  uint8_t st[] = {0x0f, 0xae, 0x1f};
  insn = Decode(st);
  ASSERT_TRUE(insn.ok()) << insn.status();
  EXPECT_EQ(insn->op, Op::kStmxcsr);
  uint8_t wrfsbase[] = {0xf3, 0x48, 0x0f, 0xae, 0xd0};  // F3 0F AE /2, register form.
  EXPECT_EQ(Decode(wrfsbase).status().code(), absl::StatusCode::kNotFound);
  uint8_t prefixed[] = {0x66, 0x0f, 0xae, 0x17};
  EXPECT_EQ(Decode(prefixed).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace blimp::arch::x86_64::insn

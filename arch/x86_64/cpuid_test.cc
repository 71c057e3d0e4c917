#include "arch/x86_64/cpuid.h"

#include <set>

#include "gtest/gtest.h"

namespace blimp::arch::x86_64 {
namespace {

kvm_cpuid_entry2 Entry(uint32_t function, uint32_t index, uint32_t eax, uint32_t ebx,
                       uint32_t ecx, uint32_t edx, bool indexed = false) {
  kvm_cpuid_entry2 e{};
  e.function = function;
  e.index = index;
  e.flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
  e.eax = eax;
  e.ebx = ebx;
  e.ecx = ecx;
  e.edx = edx;
  return e;
}

// A synthetic host table: every feature bit set.
std::vector<kvm_cpuid_entry2> Supported() {
  return {
      Entry(0x0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69),
      Entry(0x1, 0, 0x000906ea, 0x07100800, 0x7ffafbff, 0xbfebfbff),
      Entry(0x4, 0, 0x1c004121, 0x01c0003f, 0x3f, 0, true),  // L1d
      Entry(0x4, 1, 0x1c004122, 0x01c0003f, 0x3f, 0, true),  // L1i
      Entry(0x4, 2, 0x1c004143, 0x00c0003f, 0x3ff, 0, true),  // L2
      Entry(0x4, 3, 0x1c03c163, 0x02c0003f, 0x3fff, 6, true),  // L3
      Entry(0x4, 4, 0, 0, 0, 0, true),
      Entry(0x7, 0, 1, 0xffffffff, 0xffffffff, 0xffffffff, true),
      Entry(0x7, 1, 0xffffffff, 0, 0, 0, true),
      Entry(0xb, 0, 1, 2, 0x100, 3, true),
      Entry(0xb, 1, 4, 16, 0x201, 3, true),
      Entry(0xd, 0, 0x2e7, 0xa88, 0xa88, 0, true),
      Entry(0xd, 1, 0xf, 0, 0, 0, true),
      Entry(0x1f, 0, 1, 2, 0x100, 3, true),
      Entry(0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d),
      Entry(0x40000001, 0, 0x01007afb, 0, 0, 0),
      Entry(0x80000001, 0, 0, 0, 0xffffffff, 0xffffffff),
  };
}

const kvm_cpuid_entry2* Find(const std::vector<kvm_cpuid_entry2>& t, uint32_t f,
                             uint32_t i = 0) {
  for (const auto& e : t) {
    if (e.function == f && e.index == i) return &e;
  }
  return nullptr;
}

TEST(CpuidTest, Leaf1ApicIdCountAndHypervisorBit) {
  auto t = BuildVcpuCpuid(Supported(), {.vcpu_index = 3, .vcpu_count = 4});
  ASSERT_TRUE(t.ok()) << t.status();
  const auto* l1 = Find(*t, 1);
  ASSERT_NE(l1, nullptr);
  EXPECT_EQ(l1->ebx >> 24, 3u);
  EXPECT_EQ((l1->ebx >> 16) & 0xff, 4u);
  EXPECT_EQ(l1->ebx & 0xffff, 0x0800u);  // CLFLUSH size etc. kept.
  EXPECT_TRUE(l1->ecx & (1u << 31));
  EXPECT_TRUE(l1->edx & (1u << 28));
  // Without pvm_workarounds, features pass through.
  EXPECT_TRUE(l1->ecx & (1u << 13));
  EXPECT_TRUE(l1->ecx & (1u << 26));

  auto single = BuildVcpuCpuid(Supported(), {.vcpu_index = 0, .vcpu_count = 1});
  ASSERT_TRUE(single.ok());
  EXPECT_FALSE(Find(*single, 1)->edx & (1u << 28));
}

TEST(CpuidTest, TopologyLeavesWithoutSmt) {
  auto t = BuildVcpuCpuid(Supported(), {.vcpu_index = 2, .vcpu_count = 3});
  ASSERT_TRUE(t.ok());
  for (uint32_t leaf : {0xbu, 0x1fu}) {
    const auto* smt = Find(*t, leaf, 0);
    const auto* core = Find(*t, leaf, 1);
    const auto* end = Find(*t, leaf, 2);
    ASSERT_TRUE(smt && core && end) << leaf;
    EXPECT_EQ(smt->eax, 0u);
    EXPECT_EQ(smt->ebx, 1u);
    EXPECT_EQ(smt->ecx, 0x100u);
    EXPECT_EQ(smt->edx, 2u);
    EXPECT_EQ(core->eax, 2u);  // ceil(log2(3)).
    EXPECT_EQ(core->ebx, 3u);
    EXPECT_EQ(core->ecx, 0x201u);
    EXPECT_EQ(core->edx, 2u);
    EXPECT_EQ(end->ecx, 2u);
    EXPECT_EQ(end->edx, 2u);
    EXPECT_EQ(smt->flags, static_cast<uint32_t>(KVM_CPUID_FLAG_SIGNIFCANT_INDEX));
  }
  // The host's own topology subleaves are replaced, not duplicated.
  int count = 0;
  for (const auto& e : *t) count += e.function == 0xb;
  EXPECT_EQ(count, 3);
}

TEST(CpuidTest, TopologyWithSmt) {
  auto t = BuildVcpuCpuid(Supported(), {.vcpu_index = 5, .vcpu_count = 8, .smt = true});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Find(*t, 0xb, 0)->eax, 1u);
  EXPECT_EQ(Find(*t, 0xb, 0)->ebx, 2u);
  EXPECT_EQ(Find(*t, 0xb, 1)->eax, 3u);  // 1 thread bit + 2 core bits.
  EXPECT_EQ(Find(*t, 0xb, 1)->ebx, 8u);
  EXPECT_EQ(Find(*t, 0xb, 1)->edx, 5u);
  // Leaf 4: 4 cores; L1/L2 shared by 2 threads, L3 by all 8.
  EXPECT_EQ(Find(*t, 4, 0)->eax >> 26, 3u);
  EXPECT_EQ((Find(*t, 4, 0)->eax >> 14) & 0xfff, 1u);
  EXPECT_EQ((Find(*t, 4, 2)->eax >> 14) & 0xfff, 1u);
  EXPECT_EQ((Find(*t, 4, 3)->eax >> 14) & 0xfff, 7u);
  EXPECT_EQ(Find(*t, 4, 0)->eax & 0x3fff, 0x0121u);  // Type/level kept.
  EXPECT_EQ(Find(*t, 4, 4)->eax, 0u);
}

TEST(CpuidTest, Leaf4WithoutSmt) {
  auto t = BuildVcpuCpuid(Supported(), {.vcpu_index = 0, .vcpu_count = 2});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Find(*t, 4, 0)->eax >> 26, 1u);
  EXPECT_EQ((Find(*t, 4, 0)->eax >> 14) & 0xfff, 0u);
  EXPECT_EQ((Find(*t, 4, 3)->eax >> 14) & 0xfff, 1u);
}

TEST(CpuidTest, KvmLeavesPassThrough) {
  auto t = BuildVcpuCpuid(Supported(), {.vcpu_index = 0, .vcpu_count = 1,
                                        .pvm_workarounds = true});
  ASSERT_TRUE(t.ok());
  const auto* sig = Find(*t, 0x40000000);
  ASSERT_NE(sig, nullptr);
  EXPECT_EQ(sig->ebx, 0x4b4d564bu);  // "KVMK"
  EXPECT_EQ(sig->ecx, 0x564b4d56u);
  EXPECT_EQ(sig->edx, 0x4du);
  ASSERT_NE(Find(*t, 0x40000001), nullptr);
  EXPECT_EQ(Find(*t, 0x40000001)->eax, 0x01007afbu);
}

TEST(CpuidTest, PvmWorkaroundsMaskFeatures) {
  auto t = BuildVcpuCpuid(Supported(), {.vcpu_index = 0, .vcpu_count = 1,
                                        .pvm_workarounds = true});
  ASSERT_TRUE(t.ok());
  const auto* l1 = Find(*t, 1);
  EXPECT_FALSE(l1->ecx & (1u << 13));  // CX16
  EXPECT_FALSE(l1->ecx & (1u << 26));  // XSAVE
  EXPECT_FALSE(l1->ecx & (1u << 27));  // OSXSAVE
  EXPECT_FALSE(l1->ecx & (1u << 28));  // AVX
  EXPECT_TRUE(l1->ecx & (1u << 31));   // Hypervisor stays.
  EXPECT_TRUE(l1->ecx & (1u << 0));    // SSE3 stays.
  EXPECT_TRUE(l1->ecx & (1u << 20));   // SSE4.2 stays.
  const auto* l7 = Find(*t, 7, 0);
  EXPECT_FALSE(l7->ebx & (1u << 5));   // AVX2
  EXPECT_FALSE(l7->ebx & (1u << 16));  // AVX512F
  EXPECT_TRUE(l7->ebx & (1u << 3));    // BMI1 stays.
  EXPECT_TRUE(l7->ebx & (1u << 9));    // ERMS stays.
  EXPECT_FALSE(l7->ebx & (1u << 20));  // SMAP
  EXPECT_TRUE(l7->ebx & (1u << 7));    // SMEP stays.
  EXPECT_FALSE(l7->edx & (1u << 29));  // ARCH_CAPABILITIES
  EXPECT_EQ(l7->eax, 1u);              // Max subleaf kept.
  EXPECT_EQ(Find(*t, 7, 1)->eax & 0x30, 0u);
  for (uint32_t i : {0u, 1u}) {
    const auto* d = Find(*t, 0xd, i);
    EXPECT_EQ(d->eax | d->ebx | d->ecx | d->edx, 0u);
  }
  EXPECT_FALSE(Find(*t, 0x80000001)->ecx & (1u << 16));  // FMA4
}

TEST(CpuidTest, MaskTableIsDocumentedAndDistinct) {
  for (const CpuidMask& m : PvmCpuidMasks()) {
    EXPECT_NE(m.bits, 0u);
    EXPECT_GT(std::string(m.reason).size(), 5u);
  }
  EXPECT_GE(PvmCpuidMasks().size(), 10u);
}

TEST(CpuidTest, BadConfig) {
  EXPECT_EQ(BuildVcpuCpuid(Supported(), {.vcpu_index = 0, .vcpu_count = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BuildVcpuCpuid(Supported(), {.vcpu_index = 2, .vcpu_count = 2}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BuildVcpuCpuid(Supported(), {.vcpu_index = 0, .vcpu_count = 255}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CpuidTest, NoTopologyLeafWhenHostHasNone) {
  std::vector<kvm_cpuid_entry2> host = {Entry(0, 0, 1, 0, 0, 0), Entry(1, 0, 0, 0, 0, 0)};
  auto t = BuildVcpuCpuid(host, {.vcpu_index = 0, .vcpu_count = 2});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->size(), 2u);
}

}  // namespace
}  // namespace blimp::arch::x86_64

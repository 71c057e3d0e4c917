#include "kvm/kvm.h"

#include <linux/kvm.h>

#include <algorithm>

#include "gtest/gtest.h"
#include "kvm/testing/kvm_test_util.h"

namespace blimp::kvm {
namespace {

TEST(KvmOpenTest, NonexistentPathIsAnErrorNamingIt) {
  absl::StatusOr<Kvm> kvm = Kvm::Open("/nonexistent");
  ASSERT_FALSE(kvm.ok());
  EXPECT_EQ(kvm.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(kvm.status().message().find("/nonexistent"), std::string::npos);
  EXPECT_NE(kvm.status().message().find("No such file"), std::string::npos)
      << kvm.status();
}

using KvmSystemTest = KvmTest;

TEST_F(KvmSystemTest, ApiVersionIs12) {
  absl::StatusOr<int> version = kvm().GetApiVersion();
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, kKvmApiVersion);
}

TEST_F(KvmSystemTest, HasTheExtensionsBlimpNeeds) {
  for (int cap : {KVM_CAP_IRQCHIP, KVM_CAP_IOEVENTFD, KVM_CAP_IRQFD,
                  KVM_CAP_USER_MEMORY}) {
    absl::StatusOr<int> has = kvm().CheckExtension(cap);
    ASSERT_TRUE(has.ok()) << has.status();
    EXPECT_GT(*has, 0) << "capability " << cap;
  }
}

TEST_F(KvmSystemTest, VcpuMmapSizeHoldsKvmRun) {
  absl::StatusOr<int> size = kvm().GetVcpuMmapSize();
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_GE(*size, static_cast<int>(sizeof(kvm_run)));
}

TEST_F(KvmSystemTest, SupportedCpuidHasBasicLeaves) {
  absl::StatusOr<std::vector<kvm_cpuid_entry2>> cpuid =
      kvm().GetSupportedCpuid();
  ASSERT_TRUE(cpuid.ok()) << cpuid.status();
  ASSERT_FALSE(cpuid->empty());
  EXPECT_TRUE(std::any_of(cpuid->begin(), cpuid->end(),
                          [](const kvm_cpuid_entry2& e) {
                            return e.function == 0;
                          }));
  EXPECT_TRUE(std::any_of(cpuid->begin(), cpuid->end(),
                          [](const kvm_cpuid_entry2& e) {
                            return e.function == 1;
                          }));
}

TEST_F(KvmSystemTest, MsrIndexListHasSysenterCs) {
  absl::StatusOr<std::vector<uint32_t>> msrs = kvm().GetMsrIndexList();
  ASSERT_TRUE(msrs.ok()) << msrs.status();
  ASSERT_FALSE(msrs->empty());
  // IA32_SYSENTER_CS is in every KVM's list.
  EXPECT_NE(std::find(msrs->begin(), msrs->end(), 0x174u), msrs->end());
}

TEST_F(KvmSystemTest, CreatesVms) {
  absl::StatusOr<Vm> a = kvm().CreateVm();
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<Vm> b = kvm().CreateVm();
  ASSERT_TRUE(b.ok()) << b.status();
}

}  // namespace
}  // namespace blimp::kvm

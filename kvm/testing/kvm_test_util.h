// KvmTest: a gtest fixture that opens /dev/kvm, or skips the test loudly
// when this machine has no usable KVM.
#ifndef BLIMP_KVM_TESTING_KVM_TEST_UTIL_H_
#define BLIMP_KVM_TESTING_KVM_TEST_UTIL_H_

#include <iostream>
#include <optional>
#include <utility>

#include "gtest/gtest.h"
#include "kvm/kvm.h"

namespace blimp::kvm {

class KvmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<Kvm> kvm = Kvm::Open();
    if (!kvm.ok()) {
      std::cerr << "\n*** SKIPPED: /dev/kvm not available ("
                << kvm.status() << ") ***\n\n";
      GTEST_SKIP() << "SKIPPED: /dev/kvm not available: " << kvm.status();
    }
    kvm_.emplace(*std::move(kvm));
  }

  Kvm& kvm() { return *kvm_; }

 private:
  std::optional<Kvm> kvm_;
};

}  // namespace blimp::kvm

#endif  // BLIMP_KVM_TESTING_KVM_TEST_UTIL_H_

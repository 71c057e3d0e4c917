// SharedLinuxVmTest: a gtest fixture whose tests share one Linux guest,
// booted once per suite (a boot costs ~30 s here). `Config` names the
// guest: static constexpr vcpus, mem_mib and balloon_json.
#ifndef BLIMP_TESTS_LINUX_SHARED_LINUX_VM_H_
#define BLIMP_TESTS_LINUX_SHARED_LINUX_VM_H_

#include <iostream>
#include <string>

#include "gtest/gtest.h"
#include "tests/linux/linux_vm.h"

namespace blimp::tests {

template <typename Config>
class SharedLinuxVmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!KvmAvailable() || LinuxDir().empty()) return;
    auto vm = LinuxVm::Boot(Config::vcpus, Config::mem_mib, Config::balloon_json);
    if (vm.ok()) {
      vm_ = vm->release();
    } else {
      boot_error_ = new std::string(vm.status().ToString());
    }
  }
  static void TearDownTestSuite() {
    delete vm_;
    vm_ = nullptr;
  }
  void SetUp() override {
    SKIP_WITHOUT_KVM();
    REQUIRE_LINUX_FILES();
    ASSERT_NE(vm_, nullptr) << (boot_error_ ? *boot_error_ : "no VM");
  }
  void TearDown() override {
    if (vm_ != nullptr && HasFailure()) std::cerr << "console:\n" << vm_->process().output();
  }
  LinuxVm& vm() { return *vm_; }

  static inline LinuxVm* vm_ = nullptr;
  static inline std::string* boot_error_ = nullptr;
};

}  // namespace blimp::tests

#endif  // BLIMP_TESTS_LINUX_SHARED_LINUX_VM_H_

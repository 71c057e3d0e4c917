#include "kvm/vm.h"

#include <linux/kvm.h>

#include "base/event_fd.h"
#include "gtest/gtest.h"
#include "kvm/testing/kvm_test_util.h"
#include "memory/mmap_region.h"

namespace blimp::kvm {
namespace {

class VmTest : public KvmTest {
 protected:
  void SetUp() override {
    KvmTest::SetUp();
    if (IsSkipped()) return;
    absl::StatusOr<Vm> vm = kvm().CreateVm();
    ASSERT_TRUE(vm.ok()) << vm.status();
    vm_.emplace(*std::move(vm));
  }
  Vm& vm() { return *vm_; }

 private:
  std::optional<Vm> vm_;
};

bool Contains(const absl::Status& status, absl::string_view text) {
  return status.message().find(text) != absl::string_view::npos;
}

TEST_F(VmTest, ReportsTheTscRate) {
  absl::StatusOr<uint32_t> khz = vm().GetTscKhz();
  ASSERT_TRUE(khz.ok()) << khz.status();
  EXPECT_GT(*khz, 100'000u);  // More than 100 MHz: a rate, not a flag.
}

TEST_F(VmTest, SetsAndDeletesMemoryRegion) {
  absl::StatusOr<memory::MmapRegion> ram = memory::MmapRegion::Create(0x10000);
  ASSERT_TRUE(ram.ok()) << ram.status();
  EXPECT_TRUE(vm().SetUserMemoryRegion(0, 0, ram->size(), ram->data()).ok());
  EXPECT_TRUE(vm().SetUserMemoryRegion(0, 0, 0, ram->data()).ok());
}

TEST_F(VmTest, UnalignedMemoryRegionIsAnErrorWithIoctlNameAndErrno) {
  absl::StatusOr<memory::MmapRegion> ram = memory::MmapRegion::Create(0x2000);
  ASSERT_TRUE(ram.ok()) << ram.status();
  absl::Status status = vm().SetUserMemoryRegion(0, 0, 0x1001, ram->data());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(status, "KVM_SET_USER_MEMORY_REGION")) << status;
  EXPECT_TRUE(Contains(status, "Invalid argument")) << status;
}

TEST_F(VmTest, OverlappingMemorySlotsAreRefused) {
  absl::StatusOr<memory::MmapRegion> ram = memory::MmapRegion::Create(0x4000);
  ASSERT_TRUE(ram.ok()) << ram.status();
  ASSERT_TRUE(vm().SetUserMemoryRegion(0, 0, 0x4000, ram->data()).ok());
  absl::Status status =
      vm().SetUserMemoryRegion(1, 0x2000, 0x2000, ram->data());
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status, "KVM_SET_USER_MEMORY_REGION")) << status;
}

TEST_F(VmTest, CreatesIrqchipPitAndDrivesLines) {
  ASSERT_TRUE(vm().SetTssAddr(0xfffbd000).ok());
  ASSERT_TRUE(vm().SetIdentityMapAddr(0xfffbc000).ok());
  absl::Status status = vm().CreateIrqchip();
  ASSERT_TRUE(status.ok()) << status;
  status = vm().CreatePit2(KVM_PIT_SPEAKER_DUMMY);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_TRUE(vm().SetIrqLine(4, true).ok());
  EXPECT_TRUE(vm().SetIrqLine(4, false).ok());
  // A second irqchip is refused.
  status = vm().CreateIrqchip();
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status, "KVM_CREATE_IRQCHIP")) << status;
}

TEST_F(VmTest, RegistersAndUnregistersIrqfd) {
  ASSERT_TRUE(vm().CreateIrqchip().ok());
  absl::StatusOr<base::EventFd> event = base::EventFd::Create();
  ASSERT_TRUE(event.ok()) << event.status();
  absl::Status status = vm().RegisterIrqfd(event->fd(), 4);
  ASSERT_TRUE(status.ok()) << status;
  // The same eventfd twice is EBUSY.
  status = vm().RegisterIrqfd(event->fd(), 4);
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status, "KVM_IRQFD")) << status;
  EXPECT_TRUE(event->Write(1).ok());
  status = vm().UnregisterIrqfd(event->fd(), 4);
  EXPECT_TRUE(status.ok()) << status;
}

TEST_F(VmTest, RegistersAndUnregistersIoeventfds) {
  absl::StatusOr<base::EventFd> event = base::EventFd::Create();
  ASSERT_TRUE(event.ok()) << event.status();
  absl::Status status = vm().RegisterIoeventfd(event->fd(), 0xd0000050, 4,
                                               /*mmio=*/true, std::nullopt);
  ASSERT_TRUE(status.ok()) << status;
  // The same registration twice is EEXIST.
  status = vm().RegisterIoeventfd(event->fd(), 0xd0000050, 4, true,
                                  std::nullopt);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_TRUE(Contains(status, "KVM_IOEVENTFD")) << status;
  EXPECT_TRUE(vm().UnregisterIoeventfd(event->fd(), 0xd0000050, 4, true,
                                       std::nullopt)
                  .ok());

  status = vm().RegisterIoeventfd(event->fd(), 0x510, 2, /*mmio=*/false, 7);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_TRUE(vm().UnregisterIoeventfd(event->fd(), 0x510, 2, false, 7).ok());
  // Nothing left to unregister.
  status = vm().UnregisterIoeventfd(event->fd(), 0x510, 2, false, 7);
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status, "KVM_IOEVENTFD(deassign)")) << status;
}

TEST_F(VmTest, CreatesVcpusWithDistinctIds) {
  absl::StatusOr<int> mmap_size = kvm().GetVcpuMmapSize();
  ASSERT_TRUE(mmap_size.ok());
  absl::StatusOr<Vcpu> a = vm().CreateVcpu(0, *mmap_size);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->id(), 0u);
  absl::StatusOr<Vcpu> b = vm().CreateVcpu(1, *mmap_size);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->id(), 1u);
  // Id 0 again is EEXIST.
  absl::StatusOr<Vcpu> again = vm().CreateVcpu(0, *mmap_size);
  EXPECT_FALSE(again.ok());
  // A mapping too small for kvm_run is refused before mmap.
  absl::StatusOr<Vcpu> small = vm().CreateVcpu(2, 16);
  EXPECT_EQ(small.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace blimp::kvm

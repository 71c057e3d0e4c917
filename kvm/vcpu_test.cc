#include "kvm/vcpu.h"

#include <linux/kvm.h>

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "kvm/testing/kvm_test_util.h"
#include "kvm/vcpu_exit.h"
#include "memory/mmap_region.h"

namespace blimp::kvm {
namespace {

using Kind = VcpuExit::Kind;

constexpr uint64_t kCodeAddr = 0x1000;  // One RAM page here, nothing else.
constexpr uint64_t kMmioAddr = 0x8000;  // Unmapped: accesses exit as MMIO.

// 16-bit real-mode code, loaded at kCodeAddr with CS base 0.
constexpr uint8_t kRealModeCode[] = {
    0xb0, 0x42,                    // mov al, 0x42
    0xe6, 0x10,                    // out 0x10, al
    0xe4, 0x11,                    // in al, 0x11
    0xe6, 0x12,                    // out 0x12, al      (echoes what we fed)
    0xc6, 0x06, 0x00, 0x80, 0x99,  // mov byte [0x8000], 0x99
    0xa0, 0x00, 0x80,              // mov al, [0x8000]
    0xe6, 0x13,                    // out 0x13, al      (echoes the MMIO read)
    0xb8, 0xef, 0xbe,              // mov ax, 0xbeef
    0xe7, 0x14,                    // out 0x14, ax
    0xbe, 0x00, 0x11,              // mov si, 0x1100
    0xb9, 0x04, 0x00,              // mov cx, 4
    0xba, 0x15, 0x00,              // mov dx, 0x15
    0xfc,                          // cld
    0xf3, 0x6e,                    // rep outsb         ("abcd" from 0x1100)
    0xf4,                          // hlt
};
constexpr uint64_t kStringAddr = 0x1100;

class VcpuTest : public KvmTest {
 protected:
  // A VM with one page of RAM at kCodeAddr (no irqchip, so HLT exits) and
  // vCPU 0 in real mode about to run kRealModeCode.
  void SetUp() override {
    KvmTest::SetUp();
    if (IsSkipped()) return;
    absl::StatusOr<Vm> vm = kvm().CreateVm();
    ASSERT_TRUE(vm.ok()) << vm.status();
    vm_.emplace(*std::move(vm));
    absl::StatusOr<memory::MmapRegion> ram = memory::MmapRegion::Create(4096);
    ASSERT_TRUE(ram.ok()) << ram.status();
    ram_.emplace(*std::move(ram));
    std::memcpy(ram_->data(), kRealModeCode, sizeof(kRealModeCode));
    std::memcpy(ram_->data() + (kStringAddr - kCodeAddr), "abcd", 4);
    absl::Status status =
        vm_->SetUserMemoryRegion(0, kCodeAddr, ram_->size(), ram_->data());
    ASSERT_TRUE(status.ok()) << status;

    absl::StatusOr<int> mmap_size = kvm().GetVcpuMmapSize();
    ASSERT_TRUE(mmap_size.ok()) << mmap_size.status();
    absl::StatusOr<Vcpu> vcpu = vm_->CreateVcpu(0, *mmap_size);
    ASSERT_TRUE(vcpu.ok()) << vcpu.status();
    vcpu_.emplace(*std::move(vcpu));

    absl::StatusOr<kvm_sregs> sregs = vcpu_->GetSregs();
    ASSERT_TRUE(sregs.ok()) << sregs.status();
    sregs->cs.base = 0;
    sregs->cs.selector = 0;
    sregs->ds.base = 0;
    sregs->ds.selector = 0;
    ASSERT_TRUE(vcpu_->SetSregs(*sregs).ok());
    kvm_regs regs{};
    regs.rip = kCodeAddr;
    regs.rflags = 0x2;
    ASSERT_TRUE(vcpu_->SetRegs(regs).ok());
  }

  VcpuExit RunOnce() {
    absl::StatusOr<VcpuExit> exit = vcpu_->Run();
    EXPECT_TRUE(exit.ok()) << exit.status();
    return exit.ok() ? *std::move(exit) : VcpuExit{};
  }

  std::optional<Vm> vm_;
  std::optional<memory::MmapRegion> ram_;
  std::optional<Vcpu> vcpu_;
};

TEST_F(VcpuTest, RunsRealModeCodeAndDecodesExits) {
  // out 0x10, al
  VcpuExit exit = RunOnce();
  ASSERT_EQ(exit.kind, Kind::kIoOut) << ExitKindName(exit.kind);
  EXPECT_EQ(exit.raw_exit_reason, static_cast<uint32_t>(KVM_EXIT_IO));
  EXPECT_EQ(exit.port, 0x10);
  EXPECT_EQ(exit.size, 1u);
  EXPECT_EQ(exit.count, 1u);
  ASSERT_EQ(exit.data.size(), 1u);
  EXPECT_EQ(exit.data[0], 0x42);

  // in al, 0x11: what we put in `data` is what the guest reads...
  exit = RunOnce();
  ASSERT_EQ(exit.kind, Kind::kIoIn) << ExitKindName(exit.kind);
  EXPECT_EQ(exit.port, 0x11);
  ASSERT_EQ(exit.data.size(), 1u);
  exit.data[0] = 0x5a;
  // ...and out 0x12, al shows it.
  exit = RunOnce();
  ASSERT_EQ(exit.kind, Kind::kIoOut) << ExitKindName(exit.kind);
  EXPECT_EQ(exit.port, 0x12);
  ASSERT_EQ(exit.data.size(), 1u);
  EXPECT_EQ(exit.data[0], 0x5a);

  // mov byte [0x8000], 0x99
  exit = RunOnce();
  ASSERT_EQ(exit.kind, Kind::kMmioWrite) << ExitKindName(exit.kind);
  EXPECT_EQ(exit.raw_exit_reason, static_cast<uint32_t>(KVM_EXIT_MMIO));
  EXPECT_EQ(exit.address, kMmioAddr);
  EXPECT_EQ(exit.size, 1u);
  ASSERT_EQ(exit.data.size(), 1u);
  EXPECT_EQ(exit.data[0], 0x99);

  // mov al, [0x8000], then out 0x13, al.
  exit = RunOnce();
  ASSERT_EQ(exit.kind, Kind::kMmioRead) << ExitKindName(exit.kind);
  EXPECT_EQ(exit.address, kMmioAddr);
  ASSERT_EQ(exit.data.size(), 1u);
  exit.data[0] = 0x77;
  exit = RunOnce();
  ASSERT_EQ(exit.kind, Kind::kIoOut) << ExitKindName(exit.kind);
  EXPECT_EQ(exit.port, 0x13);
  EXPECT_EQ(exit.data[0], 0x77);

  // out 0x14, ax: one 2-byte access, little-endian.
  exit = RunOnce();
  ASSERT_EQ(exit.kind, Kind::kIoOut) << ExitKindName(exit.kind);
  EXPECT_EQ(exit.port, 0x14);
  EXPECT_EQ(exit.size, 2u);
  ASSERT_EQ(exit.data.size(), 2u);
  EXPECT_EQ(exit.data[0], 0xef);
  EXPECT_EQ(exit.data[1], 0xbe);

  // rep outsb: KVM may batch the 4 bytes into one exit (count 4) or not;
  // either way `data` spans count * size bytes.
  std::string sent;
  for (exit = RunOnce(); exit.kind == Kind::kIoOut; exit = RunOnce()) {
    EXPECT_EQ(exit.port, 0x15);
    EXPECT_EQ(exit.size, 1u);
    ASSERT_EQ(exit.data.size(), exit.size * exit.count);
    sent.append(exit.data.begin(), exit.data.end());
  }
  EXPECT_EQ(sent, "abcd");

  EXPECT_EQ(exit.kind, Kind::kHlt) << ExitKindName(exit.kind);
  absl::StatusOr<kvm_regs> regs = vcpu_->GetRegs();
  ASSERT_TRUE(regs.ok()) << regs.status();
  EXPECT_EQ(regs->rip, kCodeAddr + sizeof(kRealModeCode));
}

TEST_F(VcpuTest, ImmediateExitReturnsInterruptedWithoutRunning) {
  vcpu_->SetImmediateExit(true);
  VcpuExit exit = RunOnce();
  EXPECT_EQ(exit.kind, Kind::kInterrupted) << ExitKindName(exit.kind);
  absl::StatusOr<kvm_regs> regs = vcpu_->GetRegs();
  ASSERT_TRUE(regs.ok());
  EXPECT_EQ(regs->rip, kCodeAddr);

  vcpu_->SetImmediateExit(false);
  exit = RunOnce();
  EXPECT_EQ(exit.kind, Kind::kIoOut) << ExitKindName(exit.kind);
}

// What vmm/ does to stop a vCPU: immediate_exit for a vCPU about to enter
// KVM_RUN, plus a signal (handler installed without SA_RESTART) for one
// already running guest code.
TEST_F(VcpuTest, SignalAndImmediateExitInterruptARunningGuest) {
  constexpr uint8_t kSpin[] = {0xeb, 0xfe};  // jmp $
  std::memcpy(ram_->data(), kSpin, sizeof(kSpin));
  struct sigaction action {};
  action.sa_handler = [](int) {};
  sigemptyset(&action.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR2, &action, nullptr), 0);

  std::atomic<bool> started{false};
  std::atomic<bool> done{false};
  absl::StatusOr<VcpuExit> exit;
  std::thread runner([&] {
    started = true;
    exit = vcpu_->Run();
    done = true;
  });
  while (!started) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(done);  // Still spinning in the guest.
  vcpu_->SetImmediateExit(true);
  for (int i = 0; i < 200 && !done; ++i) {
    pthread_kill(runner.native_handle(), SIGUSR2);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  runner.join();
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->kind, Kind::kInterrupted) << ExitKindName(exit->kind);
  signal(SIGUSR2, SIG_DFL);
}

TEST_F(VcpuTest, RegistersRoundTrip) {
  absl::StatusOr<kvm_regs> regs = vcpu_->GetRegs();
  ASSERT_TRUE(regs.ok());
  regs->rax = 0x1122334455667788;
  regs->rsp = 0x8000;
  ASSERT_TRUE(vcpu_->SetRegs(*regs).ok());
  absl::StatusOr<kvm_regs> again = vcpu_->GetRegs();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->rax, 0x1122334455667788u);
  EXPECT_EQ(again->rsp, 0x8000u);

  absl::StatusOr<kvm_fpu> fpu = vcpu_->GetFpu();
  ASSERT_TRUE(fpu.ok()) << fpu.status();
  fpu->fcw = 0x37f;
  fpu->mxcsr = 0x1f80;
  ASSERT_TRUE(vcpu_->SetFpu(*fpu).ok());
  absl::StatusOr<kvm_fpu> fpu_again = vcpu_->GetFpu();
  ASSERT_TRUE(fpu_again.ok());
  EXPECT_EQ(fpu_again->fcw, 0x37f);
  // Not checked: this machine's PVM KVM reads MXCSR back as 0 after
  // KVM_SET_FPU (measured); stock KVM round-trips it.

  absl::StatusOr<kvm_vcpu_events> events = vcpu_->GetVcpuEvents();
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_TRUE(vcpu_->SetVcpuEvents(*events).ok());
}

TEST_F(VcpuTest, SetsCpuidAndMsrs) {
  absl::StatusOr<std::vector<kvm_cpuid_entry2>> cpuid =
      kvm().GetSupportedCpuid();
  ASSERT_TRUE(cpuid.ok()) << cpuid.status();
  absl::Status status = vcpu_->SetCpuid2(*cpuid);
  ASSERT_TRUE(status.ok()) << status;

  kvm_msr_entry sysenter_cs{};
  sysenter_cs.index = 0x174;  // IA32_SYSENTER_CS
  sysenter_cs.data = 0x10;
  status = vcpu_->SetMsrs({sysenter_cs});
  ASSERT_TRUE(status.ok()) << status;
  absl::StatusOr<std::vector<kvm_msr_entry>> msrs = vcpu_->GetMsrs({0x174});
  ASSERT_TRUE(msrs.ok()) << msrs.status();
  ASSERT_EQ(msrs->size(), 1u);
  EXPECT_EQ((*msrs)[0].index, 0x174u);
  EXPECT_EQ((*msrs)[0].data, 0x10u);
}

TEST_F(VcpuTest, RefusedMsrIsAnErrorNamingIt) {
  kvm_msr_entry good{};
  good.index = 0x174;
  kvm_msr_entry bogus{};
  bogus.index = 0x4b564dff;  // Unassigned in KVM's paravirtual MSR range.
  absl::Status status = vcpu_->SetMsrs({good, bogus});
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("set 1 of 2"), std::string::npos) << status;
  EXPECT_NE(status.message().find("0x4b564dff"), std::string::npos) << status;
}

TEST(VcpuExitTest, KindNames) {
  EXPECT_EQ(ExitKindName(Kind::kIoIn), "io-in");
  EXPECT_EQ(ExitKindName(Kind::kMmioWrite), "mmio-write");
  EXPECT_EQ(ExitKindName(Kind::kInterrupted), "interrupted");
  EXPECT_EQ(ExitKindName(Kind::kUnknown), "unknown");
}

class VcpuIrqchipTest : public KvmTest {};

TEST_F(VcpuIrqchipTest, LapicAndMpStateRoundTrip) {
  absl::StatusOr<Vm> vm = kvm().CreateVm();
  ASSERT_TRUE(vm.ok()) << vm.status();
  ASSERT_TRUE(vm->CreateIrqchip().ok());
  absl::StatusOr<int> mmap_size = kvm().GetVcpuMmapSize();
  ASSERT_TRUE(mmap_size.ok());
  absl::StatusOr<Vcpu> vcpu = vm->CreateVcpu(0, *mmap_size);
  ASSERT_TRUE(vcpu.ok()) << vcpu.status();

  absl::StatusOr<kvm_lapic_state> lapic = vcpu->GetLapic();
  ASSERT_TRUE(lapic.ok()) << lapic.status();
  // Spurious-interrupt vector register (0xF0): APIC enabled, vector 0xFF.
  uint32_t svr = 0x1ff;
  std::memcpy(&lapic->regs[0xf0], &svr, sizeof(svr));
  absl::Status status = vcpu->SetLapic(*lapic);
  ASSERT_TRUE(status.ok()) << status;
  absl::StatusOr<kvm_lapic_state> again = vcpu->GetLapic();
  ASSERT_TRUE(again.ok());
  uint32_t svr_again = 0;
  std::memcpy(&svr_again, &again->regs[0xf0], sizeof(svr_again));
  EXPECT_EQ(svr_again, svr);

  absl::StatusOr<kvm_mp_state> mp = vcpu->GetMpState();
  ASSERT_TRUE(mp.ok()) << mp.status();
  EXPECT_EQ(mp->mp_state, static_cast<uint32_t>(KVM_MP_STATE_RUNNABLE));
  EXPECT_TRUE(vcpu->SetMpState(*mp).ok());
}

// What a snapshot reads and writes back (vmm/snapshot): each round-trips.
TEST_F(VcpuIrqchipTest, SnapshotStateRoundTrips) {
  absl::StatusOr<Vm> vm = kvm().CreateVm();
  ASSERT_TRUE(vm.ok()) << vm.status();
  ASSERT_TRUE(vm->CreateIrqchip().ok());
  ASSERT_TRUE(vm->CreatePit2(KVM_PIT_SPEAKER_DUMMY).ok());
  absl::StatusOr<int> mmap_size = kvm().GetVcpuMmapSize();
  ASSERT_TRUE(mmap_size.ok());
  absl::StatusOr<Vcpu> vcpu = vm->CreateVcpu(0, *mmap_size);
  ASSERT_TRUE(vcpu.ok()) << vcpu.status();

  for (uint32_t chip_id : {KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC}) {
    absl::StatusOr<kvm_irqchip> chip = vm->GetIrqchip(chip_id);
    ASSERT_TRUE(chip.ok()) << chip.status();
    EXPECT_EQ(chip->chip_id, chip_id);
    EXPECT_TRUE(vm->SetIrqchip(*chip).ok());
  }
  absl::StatusOr<kvm_pit_state2> pit = vm->GetPit2();
  ASSERT_TRUE(pit.ok()) << pit.status();
  pit->channels[0].count = 0x1234;
  ASSERT_TRUE(vm->SetPit2(*pit).ok());
  EXPECT_EQ(vm->GetPit2()->channels[0].count, 0x1234u);
  absl::StatusOr<kvm_clock_data> clock = vm->GetClock();
  ASSERT_TRUE(clock.ok()) << clock.status();
  kvm_clock_data later = *clock;
  later.clock += 1'000'000'000;  // One second on.
  ASSERT_TRUE(vm->SetClock(later).ok());
  EXPECT_GE(vm->GetClock()->clock, later.clock);

  absl::StatusOr<XsaveArea> xsave = vcpu->GetXsave();
  ASSERT_TRUE(xsave.ok()) << xsave.status();
  EXPECT_TRUE(vcpu->SetXsave(*xsave).ok());
  absl::StatusOr<kvm_debugregs> debugregs = vcpu->GetDebugregs();
  ASSERT_TRUE(debugregs.ok()) << debugregs.status();
  EXPECT_TRUE(vcpu->SetDebugregs(*debugregs).ok());

  // Every MSR KVM lists is read, up to the first it refuses.
  absl::StatusOr<std::vector<uint32_t>> indices = kvm().GetMsrIndexList();
  ASSERT_TRUE(indices.ok()) << indices.status();
  absl::StatusOr<std::vector<kvm_msr_entry>> some = vcpu->GetMsrsPrefix(*indices);
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_GT(some->size(), 0u);
  ASSERT_LE(some->size(), indices->size());
  for (size_t i = 0; i < some->size(); ++i) EXPECT_EQ((*some)[i].index, (*indices)[i]);
  absl::StatusOr<std::vector<kvm_msr_entry>> none = vcpu->GetMsrsPrefix({0x4b564dff, 0x174});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty()) << "stops at the refused MSR";
}

}  // namespace
}  // namespace blimp::kvm

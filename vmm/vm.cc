#include "vmm/vm.h"

#include <sys/epoll.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "arch/x86_64/boot.h"
#include "arch/x86_64/layout.h"
#include "base/status_macros.h"
#include "glog/logging.h"
#include "device/virtio/balloon/balloon_defs.h"
#include "vmm/config_file.h"
#include "vmm/power_devices.h"
#include "vmm/snapshot/device_state.h"
#include "vmm/snapshot/kvm_state.h"
#include "vmm/snapshot/memory_file.h"
#include "vmm/snapshot/snapshot_file.h"
#include "vmm/vcpu_setup.h"

namespace blimp::vmm {
namespace {

namespace x86 = arch::x86_64;
using device::virtio::balloon::Balloon;
using device::virtio::balloon::BalloonOptions;

// Where KVM keeps its real-mode TSS and identity page (3 pages below 4 GiB,
// inside the MMIO hole, as QEMU and Firecracker place them).
constexpr uint64_t kKvmTssAddr = 0xfffbd000;
constexpr uint64_t kKvmIdentityMapAddr = 0xfffbc000;
constexpr uint32_t kPitSpeakerDummy = 1;  // KVM_PIT_SPEAKER_DUMMY
constexpr uint64_t kI8042Base = 0x60;
constexpr uint64_t kI8042Len = 5;  // 0x60..0x64
constexpr uint64_t kAcpiPortsLen = 3;
constexpr uint64_t kQueueNotifyOffset = 0x50;
constexpr uint32_t kIoeventfdQueues = 2;  // Inflate and deflate.
// A vCPU leaves KVM_RUN within microseconds of a signal; this bounds a host
// thread that is not scheduled at all.
constexpr absl::Duration kPauseTimeout = absl::Seconds(2);

}  // namespace

absl::StatusOr<std::unique_ptr<Vm>> Vm::Launch(const VmConfig& config,
                                              const VmOptions& options) {
  ASSIGN_OR_RETURN(kvm::Kvm kvm, kvm::Kvm::Open());
  ASSIGN_OR_RETURN(std::unique_ptr<Vm> vm, Build(kvm, config, options, -1));
  RETURN_IF_ERROR(vm->SetUpVcpus(kvm));
  RETURN_IF_ERROR(vm->SetUpConsoleInput());
  vm->Start();
  return vm;
}

absl::StatusOr<std::unique_ptr<Vm>> Vm::Restore(const VmConfig& config, const VmOptions& options,
                                               const snapshot::VmState& state, int memory_file,
                                               bool resume) {
  if (state.memory_bytes() != uint64_t{config.machine.mem_size_mib} << 20) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot: ", state.memory_bytes(), " bytes of RAM saved for a machine of ",
                     config.machine.mem_size_mib, " MiB"));
  }
  if (state.vcpus_size() != static_cast<int>(config.machine.vcpu_count)) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot: ", state.vcpus_size(),
                                                   " vCPU states for ", config.machine.vcpu_count,
                                                   " vCPUs"));
  }
  if (config.balloon.has_value() != state.has_balloon_transport()) {
    return absl::InvalidArgumentError("snapshot: the balloon's state does not match its config");
  }
  ASSIGN_OR_RETURN(kvm::Kvm kvm, kvm::Kvm::Open());
  ASSIGN_OR_RETURN(std::unique_ptr<Vm> vm, Build(kvm, config, options, memory_file));
  RETURN_IF_ERROR(vm->RestoreDevices(state));
  RETURN_IF_ERROR(vm->RestoreVcpus(kvm, state));
  RETURN_IF_ERROR(snapshot::RestoreVmDevices(vm->kvm_vm_, state));
  RETURN_IF_ERROR(vm->SetUpConsoleInput());
  if (!resume) {
    for (auto& vcpu : vm->vcpus_) vcpu->RequestPark();
    vm->paused_ = true;
  }
  vm->Start();
  return vm;
}

absl::StatusOr<std::unique_ptr<Vm>> Vm::Build(const kvm::Kvm& kvm, const VmConfig& config,
                                             const VmOptions& options, int memory_file) {
  ASSIGN_OR_RETURN(kvm::Vm kvm_vm, kvm.CreateVm());
  // Under the `limit` enforcement the memory cgroup follows the balloon: an
  // inflated 4 KiB page must be uncharged at once, and on a huge page it stays
  // charged until the host splits it (the limit could not be lowered).
  const bool limit = config.balloon && config.balloon->memory_enforcement == "limit";
  const memory::RamOptions ram{.transparent_huge_pages = options.guest_ram_thp && !limit,
                               .memory_file = memory_file};
  ASSIGN_OR_RETURN(memory::GuestMemory memory,
                   memory::GuestMemory::CreateRam(uint64_t{config.machine.mem_size_mib} << 20,
                                                  ram));
  if (memory_file >= 0) {
    // Pages come from the file; huge pages do not apply.
  } else if (ram.transparent_huge_pages && !memory.regions()[0].huge_pages) {
    LOG(WARNING) << "guest RAM: the host kernel has no transparent huge pages; using 4 KiB pages";
  } else if (ram.transparent_huge_pages && !memory.holes_guarded()) {
    LOG(WARNING) << "guest RAM: no userfaultfd; khugepaged may refill ballooned 4 KiB pages";
  }
  ASSIGN_OR_RETURN(std::unique_ptr<base::EventLoop> loop, base::EventLoop::Create());
  std::unique_ptr<Vm> vm(
      new Vm(std::move(kvm_vm), std::move(memory), std::move(loop), config, options));
  RETURN_IF_ERROR(vm->SetUpMemory());
  RETURN_IF_ERROR(vm->SetUpDevices());
  ASSIGN_OR_RETURN(vm->msr_indices_, kvm.GetMsrIndexList());
  return vm;
}

Vm::Vm(kvm::Vm kvm_vm, memory::GuestMemory memory, std::unique_ptr<base::EventLoop> loop,
       const VmConfig& config, const VmOptions& options)
    : config_(config),
      options_(options),
      kvm_vm_(std::move(kvm_vm)),
      memory_(std::move(memory)),
      loop_(std::move(loop)) {}

Vm::~Vm() {
  RequestExit(ExitReason::kStopped);
  Wait();
}

absl::Status Vm::SetUpMemory() {
  RETURN_IF_ERROR(kvm_vm_.SetTssAddr(kKvmTssAddr));
  RETURN_IF_ERROR(kvm_vm_.SetIdentityMapAddr(kKvmIdentityMapAddr));
  RETURN_IF_ERROR(kvm_vm_.CreateIrqchip());
  RETURN_IF_ERROR(kvm_vm_.CreatePit2(kPitSpeakerDummy));
  uint32_t slot = 0;
  for (const memory::GuestRegion& region : memory_.regions()) {
    RETURN_IF_ERROR(kvm_vm_.SetUserMemoryRegion(slot++, region.start.value(), region.size,
                                                region.mapping.data()));
  }
  return absl::OkStatus();
}

absl::Status Vm::SetUpDevices() {
  ExitRequest exit = [this](ExitReason reason) { RequestExit(reason); };
  ASSIGN_OR_RETURN(serial_irq_, IrqfdLine::Create(kvm_vm_, x86::kCom1Irq));
  int out_fd = options_.console_out_fd;
  serial_ = std::make_shared<device::Serial>(*serial_irq_, [out_fd](absl::Span<const uint8_t> bytes) {
    // The console is best effort: a closed or full sink drops output.
    if (out_fd >= 0) (void)!::write(out_fd, bytes.data(), bytes.size());
  });
  RETURN_IF_ERROR(pio_bus_.Insert(serial_, x86::kCom1Port, x86::kCom1PortCount));
  RETURN_IF_ERROR(pio_bus_.Insert(std::make_shared<AcpiPowerDevice>(exit),
                                  x86::kAcpiSleepControlPort, kAcpiPortsLen));
  RETURN_IF_ERROR(pio_bus_.Insert(std::make_shared<I8042Device>(exit), kI8042Base, kI8042Len));
  if (config_.balloon) RETURN_IF_ERROR(SetUpBalloon());
  return absl::OkStatus();
}

absl::Status Vm::SetUpBalloon() {
  const BalloonConfig& b = *config_.balloon;
  BalloonOptions options{b.amount_mib * device::virtio::balloon::kPagesPerMib,
                         b.deflate_on_oom, b.stats_polling_interval_s != 0,
                         b.free_page_reporting, b.free_page_hinting};
  auto balloon = std::make_unique<Balloon>(options, [this] {
    absl::MutexLock lock(&stats_mu_);
    ++stats_generation_;
  });
  balloon_ = balloon.get();
  const uint64_t base = x86::kVirtioMmioStart;  // Slot 0.
  const uint32_t irq = x86::kVirtioMmioFirstIrq;
  ASSIGN_OR_RETURN(balloon_irq_, IrqfdLine::Create(kvm_vm_, irq));
  balloon_transport_ =
      std::make_shared<device::virtio::MmioTransport>(std::move(balloon), memory_, *balloon_irq_);
  RETURN_IF_ERROR(mmio_bus_.Insert(balloon_transport_, base, x86::kVirtioMmioSlotSize));
  // Inflate and deflate (queues 0, 1) are notified through ioeventfds,
  // without an exit to this process. Queues 2+ (stats, hint, reporting; the
  // index depends on the features) take the MMIO write exit, so the device
  // handles their buffers before the guest's kick returns: Linux reuses a
  // hinted page as soon as the kick is back (it is then on free_page_list),
  // so a later, asynchronous discard could zero memory in use again.
  for (uint32_t q = 0; q < kIoeventfdQueues; ++q) {
    ASSIGN_OR_RETURN(base::EventFd notifier, base::EventFd::Create());
    RETURN_IF_ERROR(kvm_vm_.RegisterIoeventfd(notifier.fd(), base + kQueueNotifyOffset, 4,
                                              /*mmio=*/true, q));
    int fd = notifier.fd();
    queue_notifiers_.push_back(std::move(notifier));
    RETURN_IF_ERROR(loop_->Add(fd, EPOLLIN, [this, q, fd](uint32_t) {
      uint64_t value;
      (void)!::read(fd, &value, sizeof(value));
      balloon_transport_->NotifyQueue(q);
    }));
  }
  if (b.stats_polling_interval_s != 0) {
    ASSIGN_OR_RETURN(stats_timer_, base::TimerFd::Create());
    absl::Duration period = absl::Seconds(b.stats_polling_interval_s);
    RETURN_IF_ERROR(stats_timer_->Arm(period, period));
    RETURN_IF_ERROR(loop_->Add(stats_timer_->fd(), EPOLLIN, [this](uint32_t) {
      stats_timer_->Read().IgnoreError();
      if (paused_) return;  // A paused guest's memory (and snapshot) stays as it is.
      WithBalloon([](Balloon& balloon) { balloon.RequestStats(); });
    }));
  }
  return absl::OkStatus();
}

absl::Status Vm::SetUpConsoleInput() {
  if (options_.console_in_fd < 0) return absl::OkStatus();
  int fd = options_.console_in_fd;
  absl::Status added = loop_->Add(fd, EPOLLIN, [this, fd](uint32_t events) {
    // Take only what the UART's FIFO has room for; the rest waits in the
    // fd until the guest has read some.
    uint8_t buffer[64];
    size_t space = std::min(serial_->InputSpace(), sizeof(buffer));
    if (space == 0) {
      absl::SleepFor(absl::Milliseconds(1));
      return;
    }
    ssize_t n = ::read(fd, buffer, space);
    if (n > 0) {
      serial_->EnqueueInput(absl::MakeConstSpan(buffer, n));
    } else if (n == 0 || (events & (EPOLLHUP | EPOLLERR))) {
      loop_->Remove(fd).IgnoreError();  // End of input: the guest keeps running.
    }
  });
  if (absl::IsPermissionDenied(added)) {
    // epoll refuses regular files and /dev/null: there is no input to wait for.
    LOG(INFO) << "console input is not a pipe, socket or terminal: the guest gets none";
    return absl::OkStatus();
  }
  return added;
}

x86::BootConfig Vm::BootConfigFor() {
  x86::BootConfig boot;
  boot.kernel_path = config_.boot_source.kernel_image_path;
  boot.initrd_path = config_.boot_source.initrd_path;
  boot.cmdline = config_.boot_source.boot_args;
  boot.vcpu_count = config_.machine.vcpu_count;
  boot.smt = config_.machine.smt;
  boot.pvm_workarounds = HostKvmIsPvm();
  if (boot.pvm_workarounds && boot.vcpu_count > 1) {
    // The guest's clock will be the TSC (x86::BootConfig::pvm_workarounds).
    absl::StatusOr<uint32_t> khz = kvm_vm_.GetTscKhz();
    if (khz.ok()) {
      boot.tsc_khz = *khz;
    } else {
      LOG(WARNING) << "no TSC rate for the guest (" << khz.status() << "); Linux may not find one";
    }
  }
  if (config_.balloon) {
    boot.virtio_devices.push_back(
        {x86::kVirtioMmioStart, x86::kVirtioMmioSlotSize, x86::kVirtioMmioFirstIrq});
  }
  return boot;
}

absl::Status Vm::SetUpVcpus(const kvm::Kvm& kvm) {
  const x86::BootConfig boot = BootConfigFor();
  ASSIGN_OR_RETURN(x86::BootState state, x86::SetUpBoot(memory_, boot));
  ASSIGN_OR_RETURN(int mmap_size, kvm.GetVcpuMmapSize());
  ASSIGN_OR_RETURN(std::vector<kvm_cpuid_entry2> supported, kvm.GetSupportedCpuid());
  ExitRequest exit = [this](ExitReason reason) { RequestExit(reason); };
  for (uint32_t id = 0; id < config_.machine.vcpu_count; ++id) {
    ASSIGN_OR_RETURN(kvm::Vcpu vcpu, kvm_vm_.CreateVcpu(id, mmap_size));
    RETURN_IF_ERROR(ConfigureVcpu(vcpu, supported, boot, state));
    vcpus_.push_back(std::make_unique<VcpuRunner>(std::move(vcpu), pio_bus_, mmio_bus_,
                                                  memory_, exit, stopping_));
  }
  return absl::OkStatus();
}

absl::Status Vm::RestoreVcpus(const kvm::Kvm& kvm, const snapshot::VmState& state) {
  // The same CPUID as at boot (from the same config); everything else is
  // the saved state.
  const x86::BootConfig boot = BootConfigFor();
  ASSIGN_OR_RETURN(int mmap_size, kvm.GetVcpuMmapSize());
  ASSIGN_OR_RETURN(std::vector<kvm_cpuid_entry2> supported, kvm.GetSupportedCpuid());
  ExitRequest exit = [this](ExitReason reason) { RequestExit(reason); };
  for (uint32_t id = 0; id < config_.machine.vcpu_count; ++id) {
    const snapshot::VcpuState& saved = state.vcpus(static_cast<int>(id));
    if (saved.id() != id) {
      return absl::InvalidArgumentError(
          absl::StrCat("snapshot: vCPU state ", id, " is for vCPU ", saved.id()));
    }
    ASSIGN_OR_RETURN(kvm::Vcpu vcpu, kvm_vm_.CreateVcpu(id, mmap_size));
    ASSIGN_OR_RETURN(x86::VcpuBootState cpu, x86::BuildVcpuBootState(boot, supported, id));
    RETURN_IF_ERROR(vcpu.SetCpuid2(cpu.cpuid));
    RETURN_IF_ERROR(snapshot::RestoreVcpu(vcpu, saved));
    vcpus_.push_back(std::make_unique<VcpuRunner>(std::move(vcpu), pio_bus_, mmio_bus_,
                                                  memory_, exit, stopping_));
  }
  return absl::OkStatus();
}

absl::Status Vm::RestoreDevices(const snapshot::VmState& state) {
  ASSIGN_OR_RETURN(device::SerialState serial, snapshot::FromProto(state.serial()));
  RETURN_IF_ERROR(serial_->RestoreState(serial));
  if (!config_.balloon) return absl::OkStatus();
  ASSIGN_OR_RETURN(device::virtio::MmioTransportState transport,
                   snapshot::FromProto(state.balloon_transport()));
  ASSIGN_OR_RETURN(device::virtio::balloon::BalloonState balloon,
                   snapshot::FromProto(state.balloon()));
  if (balloon.config.num_pages > uint64_t{config_.machine.mem_size_mib} *
                                     device::virtio::balloon::kPagesPerMib) {
    return absl::InvalidArgumentError("snapshot: the balloon's target exceeds guest RAM");
  }
  return balloon_transport_->RestoreState(transport, [&](device::virtio::VirtioDevice&) {
    return balloon_->RestoreState(balloon);
  });
}

absl::StatusOr<SnapshotResult> Vm::Snapshot(const VmConfig& config, int state_fd, int memory_fd) {
  if (!paused_) return absl::FailedPreconditionError("only a paused VM can be snapshotted");
  snapshot::VmState state;
  *state.mutable_config() = ToProto(config);
  for (auto& vcpu : vcpus_) {
    ASSIGN_OR_RETURN(*state.add_vcpus(), snapshot::SaveVcpu(vcpu->vcpu(), msr_indices_));
  }
  RETURN_IF_ERROR(snapshot::SaveVmDevices(kvm_vm_, &state));
  *state.mutable_serial() = snapshot::ToProto(serial_->SaveState());
  if (balloon_transport_ != nullptr) {
    *state.mutable_balloon_transport() = snapshot::ToProto(balloon_transport_->SaveState());
    WithBalloon([&](Balloon& balloon) {
      *state.mutable_balloon() = snapshot::ToProto(balloon.SaveState());
    });
  }
  state.set_memory_bytes(memory_.total_size());
  // RAM first: the state file, written last, is what makes a snapshot.
  ASSIGN_OR_RETURN(snapshot::MemoryFileStats written, snapshot::WriteMemoryFile(memory_, memory_fd));
  RETURN_IF_ERROR(snapshot::WriteSnapshot(state_fd, state));
  return SnapshotResult{written.file_bytes, written.written_bytes};
}

void Vm::Start() {
  InstallKickSignalHandler();
  loop_thread_ = std::thread([this] {
    absl::Status status = loop_->Run();
    if (!status.ok()) {
      LOG(ERROR) << "event loop: " << status;
      RequestExit(ExitReason::kError);
    }
  });
  for (auto& vcpu : vcpus_) vcpu->Start();
}

void Vm::RequestExit(ExitReason reason) {
  {
    absl::MutexLock lock(&exit_mu_);
    if (!exit_reason_) {
      exit_reason_ = reason;
      if (loop_thread_.joinable()) LOG(INFO) << "VM stopping: " << ExitReasonName(reason);
    }
  }
  stopping_ = true;
  loop_->Stop();
  for (auto& vcpu : vcpus_) vcpu->Kick();
}

ExitReason Vm::Wait() {
  {
    absl::MutexLock lock(&exit_mu_);
    exit_mu_.Await(absl::Condition(
        +[](std::optional<ExitReason>* r) { return r->has_value(); }, &exit_reason_));
    if (joined_) return *exit_reason_;
    joined_ = true;
  }
  for (auto& vcpu : vcpus_) {
    vcpu->Kick();
    vcpu->Join();
  }
  if (loop_thread_.joinable()) loop_thread_.join();
  absl::MutexLock lock(&exit_mu_);
  return *exit_reason_;
}

absl::Status Vm::Pause() {
  // Every vCPU is asked first, so that none waits on another one that
  // still runs (an IPI, a spin lock) while it is being parked.
  for (auto& vcpu : vcpus_) vcpu->RequestPark();
  const absl::Time deadline = absl::Now() + kPauseTimeout;
  for (auto& vcpu : vcpus_) {
    if (!vcpu->WaitParked(deadline)) {
      paused_ = false;
      Resume();
      if (stopping_) return absl::FailedPreconditionError("the VM stopped while pausing");
      return absl::DeadlineExceededError(absl::StrCat(
          "vCPU ", vcpu->vcpu().id(), " did not pause within ",
          absl::FormatDuration(kPauseTimeout), "; the VM runs on"));
    }
  }
  paused_ = true;
  return absl::OkStatus();
}

void Vm::Resume() {
  paused_ = false;
  for (auto& vcpu : vcpus_) vcpu->Unpark();
}

std::optional<ExitReason> Vm::exit_reason() {
  absl::MutexLock lock(&exit_mu_);
  return exit_reason_;
}

void Vm::WithBalloon(const std::function<void(Balloon&)>& fn) {
  if (balloon_transport_ == nullptr) return;
  balloon_transport_->WithDevice([&](device::virtio::VirtioDevice&) { fn(*balloon_); });
}

void Vm::SetBalloonTarget(uint32_t pages) {
  WithBalloon([pages](Balloon& balloon) { balloon.SetTargetPages(pages); });
}

BalloonSnapshot Vm::GetBalloon() {
  BalloonSnapshot snapshot;
  WithBalloon([&](Balloon& balloon) {
    snapshot.target_pages = balloon.target_pages();
    snapshot.actual_pages = balloon.actual_pages();
    snapshot.stats = balloon.stats();
    snapshot.metrics = balloon.metrics();
    snapshot.metrics.transport_errors = balloon_transport_->invalid_accesses();
    snapshot.hinting = balloon.hinting();
  });
  for (const memory::GuestRegion& region : memory_.regions()) {
    absl::StatusOr<uint8_t*> host = memory_.HostAddress(region.start, region.size);
    if (host.ok()) snapshot.guest_ram.emplace_back(reinterpret_cast<uintptr_t>(*host), region.size);
  }
  absl::MutexLock lock(&stats_mu_);
  snapshot.stats_generation = stats_generation_;
  return snapshot;
}

void Vm::SetStatsInterval(uint32_t seconds) {
  if (!stats_timer_) return;
  absl::Duration period = absl::Seconds(seconds);
  absl::Status status = stats_timer_->Arm(period, period);
  if (!status.ok()) LOG(ERROR) << "statistics timer: " << status;
  WithBalloon([](Balloon& balloon) { balloon.RequestStats(); });
}

void Vm::StartHinting(bool acknowledge_on_stop) {
  WithBalloon([&](Balloon& balloon) { balloon.StartHinting(acknowledge_on_stop); });
}

void Vm::StopHinting() {
  WithBalloon([](Balloon& balloon) { balloon.StopHinting(); });
}

uint64_t Vm::WaitForStats(uint64_t seen, absl::Duration timeout) {
  absl::MutexLock lock(&stats_mu_);
  auto changed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(stats_mu_) {
    return stats_generation_ != seen;
  };
  stats_mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
  return stats_generation_;
}

}  // namespace blimp::vmm

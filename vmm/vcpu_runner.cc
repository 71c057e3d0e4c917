#include "vmm/vcpu_runner.h"

#include <cstring>

#include <signal.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "arch/x86_64/insn/decode.h"
#include "arch/x86_64/insn/emulate.h"
#include "glog/logging.h"
#include "vmm/guest_code.h"

namespace blimp::vmm {
namespace {

// Real-time signal used only to interrupt KVM_RUN; the handler does nothing.
int KickSignal() { return SIGRTMIN; }

void OnKick(int) {}

// KVM_SYSTEM_EVENT types (linux/kvm.h).
ExitReason SystemEventReason(uint32_t type) {
  switch (type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN: return ExitReason::kPowerOff;
    case KVM_SYSTEM_EVENT_RESET: return ExitReason::kReboot;
    default: return ExitReason::kError;
  }
}

}  // namespace

void InstallKickSignalHandler() {
  struct sigaction action {};
  action.sa_handler = OnKick;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // No SA_RESTART: KVM_RUN must return EINTR.
  CHECK_EQ(sigaction(KickSignal(), &action, nullptr), 0);
}

VcpuRunner::VcpuRunner(kvm::Vcpu vcpu, const device::Bus& pio, const device::Bus& mmio,
                       const memory::GuestMemory& memory, ExitRequest exit_request,
                       const std::atomic<bool>& stopping)
    : vcpu_(std::move(vcpu)),
      pio_(pio),
      mmio_(mmio),
      memory_(memory),
      exit_request_(std::move(exit_request)),
      stopping_(stopping) {}

VcpuRunner::~VcpuRunner() {
  if (thread_.joinable()) {
    Kick();
    Join();
  }
}

void VcpuRunner::Start() {
  thread_ = std::thread([this] {
    native_ = pthread_self();
    running_ = true;
    Loop();
    running_ = false;
    absl::MutexLock lock(&park_mu_);
    ended_ = true;
  });
}

void VcpuRunner::Kick() {
  // immediate_exit covers the window before the thread enters KVM_RUN; the
  // signal interrupts a KVM_RUN already in progress.
  vcpu_.SetImmediateExit(true);
  if (running_) pthread_kill(native_.load(), KickSignal());
  absl::MutexLock lock(&park_mu_);  // Wakes a parked thread to see `stopping`.
}

void VcpuRunner::RequestPark() {
  absl::MutexLock lock(&park_mu_);
  park_requested_ = true;
  park_flag_ = true;
}

bool VcpuRunner::WaitParked(absl::Time deadline) {
  // Only the signal, never immediate_exit: KVM completes a pending port or
  // MMIO read before it sees a signal, but returns at once on
  // immediate_exit, leaving the access half done. A signal that lands while
  // the thread is outside KVM_RUN is lost, so it is sent again until the
  // thread parks.
  absl::MutexLock lock(&park_mu_);
  auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(park_mu_) { return parked_ || ended_; };
  while (!done()) {
    if (running_) pthread_kill(native_.load(), KickSignal());
    if (park_mu_.AwaitWithTimeout(absl::Condition(&done), absl::Milliseconds(1))) break;
    if (absl::Now() > deadline) return false;
  }
  return parked_;
}

void VcpuRunner::Unpark() {
  absl::MutexLock lock(&park_mu_);
  park_requested_ = false;
  park_flag_ = false;
}

void VcpuRunner::ParkIfRequested() {
  absl::MutexLock lock(&park_mu_);
  if (!park_requested_) return;
  parked_ = true;
  auto released = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(park_mu_) {
    return !park_requested_ || stopping_;
  };
  park_mu_.Await(absl::Condition(&released));
  parked_ = false;
}

void VcpuRunner::Join() {
  if (thread_.joinable()) thread_.join();
}

void VcpuRunner::Loop() {
  // Whether KVM has nothing half done: true before the first KVM_RUN and
  // after one that a signal interrupted. After a port or MMIO exit it is
  // false until the next KVM_RUN has completed the access.
  bool settled = true;
  while (!stopping_) {
    if (settled && park_flag_.load(std::memory_order_relaxed)) ParkIfRequested();
    if (stopping_) break;
    absl::StatusOr<kvm::VcpuExit> exit = vcpu_.Run();
    if (!exit.ok()) {
      LOG(ERROR) << "vCPU " << vcpu_.id() << ": " << exit.status();
      exit_request_(ExitReason::kError);
      return;
    }
    ++counters_.exits;
    settled = exit->kind == kvm::VcpuExit::Kind::kInterrupted;
    if (!HandleExit(*exit)) return;
  }
}

bool VcpuRunner::HandleExit(const kvm::VcpuExit& exit) {
  using Kind = kvm::VcpuExit::Kind;
  switch (exit.kind) {
    case Kind::kIoIn:
    case Kind::kIoOut:
      HandlePio(exit);
      return true;
    case Kind::kMmioRead:
    case Kind::kMmioWrite:
      HandleMmio(exit);
      return true;
    case Kind::kInterrupted:
      vcpu_.SetImmediateExit(false);
      return !stopping_;
    case Kind::kHlt:
      // Only without an in-kernel irqchip; nothing can wake the vCPU then.
      LOG(WARNING) << "vCPU " << vcpu_.id() << " halted";
      return true;
    case Kind::kShutdown:
      LOG(WARNING) << "vCPU " << vcpu_.id() << ": triple fault";
      exit_request_(ExitReason::kShutdown);
      return false;
    case Kind::kSystemEvent:
      exit_request_(SystemEventReason(exit.system_event_type));
      return false;
    case Kind::kInternalError: {
      std::string why;
      if (exit.internal_suberror == KVM_INTERNAL_ERROR_EMULATION && CompleteInstruction(&why)) {
        return true;
      }
      if (!why.empty()) LOG(ERROR) << "vCPU " << vcpu_.id() << ": " << why;
      ReportInternalError(exit);
      exit_request_(ExitReason::kError);
      return false;
    }
    case Kind::kFailEntry:
      LOG(ERROR) << absl::StrFormat("vCPU %u: KVM entry failed, reason %#x", vcpu_.id(),
                                    exit.hardware_entry_failure_reason);
      exit_request_(ExitReason::kError);
      return false;
    case Kind::kUnknown:
      break;
  }
  LOG(ERROR) << "vCPU " << vcpu_.id() << ": unexpected KVM exit " << exit.raw_exit_reason;
  exit_request_(ExitReason::kError);
  return false;
}

void VcpuRunner::HandlePio(const kvm::VcpuExit& exit) {
  // String I/O (rep ins/outs) arrives as `count` accesses of `size` bytes.
  for (uint32_t i = 0; i < exit.count; ++i) {
    absl::Span<uint8_t> data = exit.data.subspan(i * exit.size, exit.size);
    bool handled = exit.kind == kvm::VcpuExit::Kind::kIoIn
                       ? pio_.Read(exit.port, data)
                       : pio_.Write(exit.port, data);
    if (!handled) {
      // Guests probe ports that do not exist; reads see an idle bus.
      if (exit.kind == kvm::VcpuExit::Kind::kIoIn) std::fill(data.begin(), data.end(), 0xff);
      if (counters_.unhandled_pio++ < 16) {
        VLOG(1) << absl::StrFormat("vCPU %u: no device at port %#x", vcpu_.id(), exit.port);
      }
    }
  }
}

void VcpuRunner::HandleMmio(const kvm::VcpuExit& exit) {
  bool handled = exit.kind == kvm::VcpuExit::Kind::kMmioRead
                     ? mmio_.Read(exit.address, exit.data)
                     : mmio_.Write(exit.address, exit.data);
  if (!handled) {
    if (exit.kind == kvm::VcpuExit::Kind::kMmioRead) {
      std::fill(exit.data.begin(), exit.data.end(), 0xff);
    }
    if (counters_.unhandled_mmio++ < 16) {
      LOG(WARNING) << absl::StrFormat("vCPU %u: no device at MMIO %#x", vcpu_.id(),
                                      exit.address);
    }
  }
}

bool VcpuRunner::CompleteInstruction(std::string* why) {
  namespace insn = arch::x86_64::insn;
  absl::StatusOr<kvm_regs> regs = vcpu_.GetRegs();
  absl::StatusOr<kvm_sregs> sregs = vcpu_.GetSregs();
  if (!regs.ok() || !sregs.ok()) return false;
  auto code = ReadGuestCode(memory_, *sregs, sregs->cs.base + regs->rip);
  if (!code.ok()) return false;
  absl::StatusOr<insn::Instruction> decoded = insn::Decode(*code);
  if (!decoded.ok()) return false;

  insn::Cpu cpu;
  const __u64* gprs[16] = {&regs->rax, &regs->rcx, &regs->rdx, &regs->rbx,
                              &regs->rsp, &regs->rbp, &regs->rsi, &regs->rdi,
                              &regs->r8,  &regs->r9,  &regs->r10, &regs->r11,
                              &regs->r12, &regs->r13, &regs->r14, &regs->r15};
  for (int i = 0; i < 16; ++i) cpu.gpr[i] = *gprs[i];
  cpu.rip = regs->rip;
  cpu.rflags = regs->rflags;
  cpu.fs_base = sregs->fs.base;
  cpu.gs_base = sregs->gs.base;
  cpu.cr0 = sregs->cr0;
  cpu.cr4 = sregs->cr4;
  const bool uses_fpu = decoded->op == insn::Op::kFwait || decoded->op == insn::Op::kLdmxcsr ||
                        decoded->op == insn::Op::kStmxcsr || decoded->op == insn::Op::kMovdToXmm;
  absl::StatusOr<kvm_fpu> fpu;
  if (uses_fpu) {
    fpu = vcpu_.GetFpu();  // KVM_GET_FPU: a KVM ioctl (type 0xAE), seccomp allows it.
    if (!fpu.ok()) {
      *why = absl::StrCat(insn::Mnemonic(decoded->op), " not completed: ",
                          fpu.status().ToString());
      return false;
    }
    cpu.fpu_status = fpu->fsw;
    cpu.mxcsr = fpu->mxcsr;
    static const uint32_t mxcsr_mask = insn::HostMxcsrMask();
    cpu.mxcsr_mask = mxcsr_mask;
    std::memcpy(cpu.xmm, fpu->xmm, sizeof(cpu.xmm));
  }
  insn::LinearToHost to_host = [&](uint64_t linear, size_t len) -> absl::StatusOr<uint8_t*> {
    absl::StatusOr<uint64_t> gpa = TranslateGuestVirtual(memory_, *sregs, linear);
    if (!gpa.ok()) return gpa.status();
    return memory_.HostAddress(memory::GuestAddress(*gpa), len);
  };
  absl::StatusOr<insn::Outcome> outcome = insn::Emulate(*decoded, &cpu, to_host);
  if (!outcome.ok()) {
    *why = absl::StrCat(insn::Mnemonic(decoded->op), " not completed: ",
                        outcome.status().message());
    return false;
  }
  kvm_regs out = *regs;
  __u64* out_gprs[16] = {&out.rax, &out.rcx, &out.rdx, &out.rbx, &out.rsp, &out.rbp,
                            &out.rsi, &out.rdi, &out.r8,  &out.r9,  &out.r10, &out.r11,
                            &out.r12, &out.r13, &out.r14, &out.r15};
  for (int i = 0; i < 16; ++i) *out_gprs[i] = cpu.gpr[i];
  out.rip = cpu.rip;
  out.rflags = cpu.rflags;
  absl::Status status = absl::OkStatus();
  if ((decoded->op == insn::Op::kLdmxcsr || decoded->op == insn::Op::kMovdToXmm) &&
      !outcome->inject_exception) {
    fpu->mxcsr = cpu.mxcsr;
    std::memcpy(fpu->xmm, cpu.xmm, sizeof(cpu.xmm));
    status = vcpu_.SetFpu(*fpu);  // KVM_SET_FPU: a KVM ioctl.
  }
  if (status.ok()) status = vcpu_.SetRegs(out);
  if (status.ok() && outcome->inject_exception) {
    absl::StatusOr<kvm_vcpu_events> events = vcpu_.GetVcpuEvents();
    status = events.status();
    if (events.ok()) {
      events->exception.injected = 1;
      events->exception.nr = outcome->vector;
      events->exception.has_error_code = outcome->has_error_code ? 1 : 0;
      events->exception.error_code = outcome->error_code;
      status = vcpu_.SetVcpuEvents(*events);
    }
  }
  if (!status.ok()) {
    *why = absl::StrCat(insn::Mnemonic(decoded->op), " completed but not handed back: ",
                        status.ToString());
    return false;
  }
  counters_.emulated++;
  const size_t op_index = static_cast<size_t>(decoded->op);
  const uint64_t seen = op_index < 16 ? counters_.emulated_by_op[op_index]++ : 0;
  if (seen < 4 || (seen & (seen - 1)) == 0) {  // The first 4, then at powers of two.
    LOG(INFO) << absl::StrFormat("vCPU %u: completed %s at RIP %#x for KVM (%u so far)",
                                 vcpu_.id(), insn::Mnemonic(decoded->op), regs->rip, seen + 1);
  }
  return true;
}

void VcpuRunner::ReportInternalError(const kvm::VcpuExit& exit) {
  std::string where = "registers unavailable";
  absl::StatusOr<kvm_regs> regs = vcpu_.GetRegs();
  absl::StatusOr<kvm_sregs> sregs = vcpu_.GetSregs();
  if (regs.ok() && sregs.ok()) {
    where = absl::StrFormat("RIP %#x", regs->rip);
    auto code = ReadGuestCode(memory_, *sregs, sregs->cs.base + regs->rip);
    if (code.ok()) {
      std::vector<std::string> hex;
      for (uint8_t b : *code) hex.push_back(absl::StrFormat("%02x", b));
      absl::StrAppend(&where, ", bytes ", absl::StrJoin(hex, " "), " (",
                      GuessMnemonic(*code), ")");
    } else {
      absl::StrAppend(&where, ", code unreadable: ", code.status().ToString());
    }
  }
  LOG(ERROR) << absl::StrFormat(
      "vCPU %u: KVM cannot run the guest's instruction (internal error, suberror %u) "
      "at %s",
      vcpu_.id(), exit.internal_suberror, where);
}

}  // namespace blimp::vmm

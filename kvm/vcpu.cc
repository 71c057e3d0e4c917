#include "kvm/vcpu.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_format.h"
#include "base/errno_status.h"
#include "base/status_macros.h"
#include "kvm/flex_struct.h"
#include "kvm/ioctl.h"

namespace blimp::kvm {

using internal::IoctlPtr;

namespace {

// Get/Set pairs of fixed-size structs.
template <typename T>
absl::StatusOr<T> GetStruct(const base::UniqueFd& fd, unsigned long request,
                            const char* name) {
  T value{};
  // SAFETY: `request` is a _IOR/_IOWR ioctl on a T; `value` is a T.
  RETURN_IF_ERROR(IoctlPtr(fd, request, name, &value).status());
  return value;
}

template <typename T>
absl::Status SetStruct(const base::UniqueFd& fd, unsigned long request,
                       const char* name, const T& value) {
  // SAFETY: `request` is a _IOW ioctl on a T: the kernel only reads it, so
  // casting away const does not let it be written.
  return IoctlPtr(fd, request, name, const_cast<T*>(&value)).status();
}

}  // namespace

Vcpu::RunMapping::RunMapping(RunMapping&& other) noexcept
    : run_(std::exchange(other.run_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

Vcpu::RunMapping& Vcpu::RunMapping::operator=(RunMapping&& other) noexcept {
  if (this != &other) {
    Unmap();
    run_ = std::exchange(other.run_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Vcpu::RunMapping::~RunMapping() { Unmap(); }

void Vcpu::RunMapping::Unmap() {
  if (run_ != nullptr) {
    // SAFETY: run_/size_ are exactly what mmap returned in Vcpu::Create and
    // nothing else owns the mapping.
    ::munmap(run_, size_);
    run_ = nullptr;
    size_ = 0;
  }
}

absl::StatusOr<Vcpu> Vcpu::Create(base::UniqueFd fd, uint32_t id,
                                  int mmap_size) {
  if (mmap_size < static_cast<int>(sizeof(kvm_run))) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "vCPU mmap size %d is smaller than struct kvm_run (%u)", mmap_size,
        sizeof(kvm_run)));
  }
  // SAFETY: a new shared mapping of the vCPU fd at offset 0, of the size
  // KVM_GET_VCPU_MMAP_SIZE reported; KVM places struct kvm_run at its start
  // (page aligned), and RunMapping unmaps it exactly once.
  void* addr = ::mmap(nullptr, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                      fd.get(), 0);
  if (addr == MAP_FAILED) return base::ErrnoStatus("mmap(kvm_run)");
  // SAFETY: see above: the mapping starts with a struct kvm_run.
  RunMapping run(reinterpret_cast<kvm_run*>(addr),
                 static_cast<size_t>(mmap_size));
  return Vcpu(std::move(fd), std::move(run), id);
}

absl::StatusOr<kvm_regs> Vcpu::GetRegs() const {
  return GetStruct<kvm_regs>(fd_, KVM_GET_REGS, "KVM_GET_REGS");
}
absl::Status Vcpu::SetRegs(const kvm_regs& regs) {
  return SetStruct(fd_, KVM_SET_REGS, "KVM_SET_REGS", regs);
}
absl::StatusOr<kvm_sregs> Vcpu::GetSregs() const {
  return GetStruct<kvm_sregs>(fd_, KVM_GET_SREGS, "KVM_GET_SREGS");
}
absl::Status Vcpu::SetSregs(const kvm_sregs& sregs) {
  return SetStruct(fd_, KVM_SET_SREGS, "KVM_SET_SREGS", sregs);
}
absl::StatusOr<kvm_fpu> Vcpu::GetFpu() const {
  return GetStruct<kvm_fpu>(fd_, KVM_GET_FPU, "KVM_GET_FPU");
}
absl::Status Vcpu::SetFpu(const kvm_fpu& fpu) {
  return SetStruct(fd_, KVM_SET_FPU, "KVM_SET_FPU", fpu);
}
absl::StatusOr<kvm_lapic_state> Vcpu::GetLapic() const {
  return GetStruct<kvm_lapic_state>(fd_, KVM_GET_LAPIC, "KVM_GET_LAPIC");
}
absl::Status Vcpu::SetLapic(const kvm_lapic_state& lapic) {
  return SetStruct(fd_, KVM_SET_LAPIC, "KVM_SET_LAPIC", lapic);
}
// The ioctl numbers encode the struct's size, which C++ gets wrong for
// kvm_xsave: its flexible array (__DECLARE_FLEX_ARRAY) adds an empty struct,
// 4 bytes in C++ and none in C. The kernel's ABI is the C one.
constexpr size_t kXsaveAbiBytes = 4096;
constexpr unsigned long kKvmGetXsave = _IOC(_IOC_READ, KVMIO, 0xa4, kXsaveAbiBytes);
constexpr unsigned long kKvmSetXsave = _IOC(_IOC_WRITE, KVMIO, 0xa5, kXsaveAbiBytes);
static_assert(sizeof(XsaveArea) == kXsaveAbiBytes);

absl::StatusOr<XsaveArea> Vcpu::GetXsave() const {
  return GetStruct<XsaveArea>(fd_, kKvmGetXsave, "KVM_GET_XSAVE");
}
absl::Status Vcpu::SetXsave(const XsaveArea& xsave) {
  return SetStruct(fd_, kKvmSetXsave, "KVM_SET_XSAVE", xsave);
}
absl::StatusOr<kvm_xcrs> Vcpu::GetXcrs() const {
  return GetStruct<kvm_xcrs>(fd_, KVM_GET_XCRS, "KVM_GET_XCRS");
}
absl::Status Vcpu::SetXcrs(const kvm_xcrs& xcrs) {
  return SetStruct(fd_, KVM_SET_XCRS, "KVM_SET_XCRS", xcrs);
}
absl::StatusOr<kvm_debugregs> Vcpu::GetDebugregs() const {
  return GetStruct<kvm_debugregs>(fd_, KVM_GET_DEBUGREGS, "KVM_GET_DEBUGREGS");
}
absl::Status Vcpu::SetDebugregs(const kvm_debugregs& regs) {
  return SetStruct(fd_, KVM_SET_DEBUGREGS, "KVM_SET_DEBUGREGS", regs);
}
absl::StatusOr<kvm_mp_state> Vcpu::GetMpState() const {
  return GetStruct<kvm_mp_state>(fd_, KVM_GET_MP_STATE, "KVM_GET_MP_STATE");
}
absl::Status Vcpu::SetMpState(const kvm_mp_state& state) {
  return SetStruct(fd_, KVM_SET_MP_STATE, "KVM_SET_MP_STATE", state);
}
absl::StatusOr<kvm_vcpu_events> Vcpu::GetVcpuEvents() const {
  return GetStruct<kvm_vcpu_events>(fd_, KVM_GET_VCPU_EVENTS,
                                    "KVM_GET_VCPU_EVENTS");
}
absl::Status Vcpu::SetVcpuEvents(const kvm_vcpu_events& events) {
  return SetStruct(fd_, KVM_SET_VCPU_EVENTS, "KVM_SET_VCPU_EVENTS", events);
}

absl::Status Vcpu::SetCpuid2(const std::vector<kvm_cpuid_entry2>& entries) {
  internal::FlexStruct<internal::Cpuid2Header, kvm_cpuid_entry2> cpuid(
      entries.size());
  cpuid.header()->nent = static_cast<uint32_t>(entries.size());
  std::copy(entries.begin(), entries.end(), cpuid.entries());
  // SAFETY: `cpuid` holds a kvm_cpuid2 followed by nent entries.
  return IoctlPtr(fd_, internal::kKvmSetCpuid2, "KVM_SET_CPUID2",
                  cpuid.data())
      .status();
}

absl::Status Vcpu::SetMsrs(const std::vector<kvm_msr_entry>& msrs) {
  internal::FlexStruct<internal::MsrsHeader, kvm_msr_entry> buffer(
      msrs.size());
  buffer.header()->nmsrs = static_cast<uint32_t>(msrs.size());
  std::copy(msrs.begin(), msrs.end(), buffer.entries());
  // SAFETY: `buffer` holds a kvm_msrs followed by nmsrs entries.
  ASSIGN_OR_RETURN(int set, IoctlPtr(fd_, internal::kKvmSetMsrs,
                                     "KVM_SET_MSRS", buffer.data()));
  if (static_cast<size_t>(set) < msrs.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "KVM_SET_MSRS: set %d of %u MSRs; MSR %#x (value %#x) was refused",
        set, msrs.size(), msrs[set].index, msrs[set].data));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<kvm_msr_entry>> Vcpu::GetMsrs(
    const std::vector<uint32_t>& indices) const {
  internal::FlexStruct<internal::MsrsHeader, kvm_msr_entry> buffer(
      indices.size());
  buffer.header()->nmsrs = static_cast<uint32_t>(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    buffer.entries()[i].index = indices[i];
  }
  // SAFETY: `buffer` holds a kvm_msrs followed by nmsrs entries, which the
  // kernel fills in place.
  ASSIGN_OR_RETURN(int read, IoctlPtr(fd_, internal::kKvmGetMsrs,
                                      "KVM_GET_MSRS", buffer.data()));
  if (static_cast<size_t>(read) < indices.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("KVM_GET_MSRS: read %d of %u MSRs; MSR %#x was refused",
                        read, indices.size(), indices[read]));
  }
  return std::vector<kvm_msr_entry>(buffer.entries(),
                                    buffer.entries() + indices.size());
}

absl::StatusOr<std::vector<kvm_msr_entry>> Vcpu::GetMsrsPrefix(
    const std::vector<uint32_t>& indices) const {
  internal::FlexStruct<internal::MsrsHeader, kvm_msr_entry> buffer(indices.size());
  buffer.header()->nmsrs = static_cast<uint32_t>(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) buffer.entries()[i].index = indices[i];
  // SAFETY: as in GetMsrs.
  ASSIGN_OR_RETURN(int read, IoctlPtr(fd_, internal::kKvmGetMsrs, "KVM_GET_MSRS", buffer.data()));
  return std::vector<kvm_msr_entry>(buffer.entries(), buffer.entries() + read);
}

void Vcpu::SetImmediateExit(bool value) {
  // An atomic store: another thread may be inside Run() on this vCPU, and
  // the kernel reads the byte on KVM_RUN entry.
  __atomic_store_n(&run_.get()->immediate_exit, value ? 1 : 0,
                   __ATOMIC_SEQ_CST);
}

absl::StatusOr<VcpuExit> Vcpu::Run() {
  int err = 0;
  if (internal::IoctlPtrRaw(fd_, KVM_RUN, nullptr, &err) < 0) {
    // EAGAIN: an application processor left its wait-for-SIPI state inside
    // the kernel; KVM_RUN must simply be called again (as QEMU does).
    if (err == EINTR || err == EAGAIN) {
      VcpuExit exit;
      exit.kind = VcpuExit::Kind::kInterrupted;
      exit.raw_exit_reason = KVM_EXIT_INTR;
      return exit;
    }
    return base::ErrnoStatus("KVM_RUN", err);
  }
  return DecodeExit();
}

absl::StatusOr<VcpuExit> Vcpu::DecodeExit() const {
  using Kind = VcpuExit::Kind;
  const kvm_run* run = run_.get();
  VcpuExit exit;
  exit.raw_exit_reason = run->exit_reason;
  exit.count = 1;
  switch (run->exit_reason) {
    case KVM_EXIT_IO: {
      exit.kind = run->io.direction == KVM_EXIT_IO_OUT ? Kind::kIoOut
                                                       : Kind::kIoIn;
      exit.port = run->io.port;
      exit.size = run->io.size;
      exit.count = run->io.count;
      uint64_t offset = run->io.data_offset;
      uint64_t len = uint64_t{exit.size} * exit.count;
      if (offset > run_.size() || len > run_.size() - offset) {
        return absl::InternalError(absl::StrFormat(
            "KVM_EXIT_IO data [%#x, +%u) lies outside the %u-byte kvm_run "
            "mapping",
            offset, len, run_.size()));
      }
      // SAFETY: [offset, offset + len) was checked to lie inside the kvm_run
      // mapping, which lives as long as this Vcpu.
      uint8_t* base = reinterpret_cast<uint8_t*>(run_.get());
      exit.data = absl::MakeSpan(base + offset, len);
      return exit;
    }
    case KVM_EXIT_MMIO: {
      exit.kind = run->mmio.is_write ? Kind::kMmioWrite : Kind::kMmioRead;
      exit.address = run->mmio.phys_addr;
      exit.size = std::min<uint32_t>(run->mmio.len, sizeof(run->mmio.data));
      // The span is mutable: for reads the caller fills it in place.
      exit.data = absl::MakeSpan(run_.get()->mmio.data, exit.size);
      return exit;
    }
    case KVM_EXIT_HLT:
      exit.kind = Kind::kHlt;
      return exit;
    case KVM_EXIT_SHUTDOWN:
      exit.kind = Kind::kShutdown;
      return exit;
    case KVM_EXIT_SYSTEM_EVENT:
      exit.kind = Kind::kSystemEvent;
      exit.system_event_type = run->system_event.type;
      return exit;
    case KVM_EXIT_INTERNAL_ERROR: {
      exit.kind = Kind::kInternalError;
      exit.internal_suberror = run->internal.suberror;
      uint32_t n = std::min<uint32_t>(
          run->internal.ndata,
          sizeof(run->internal.data) / sizeof(run->internal.data[0]));
      exit.internal_data.assign(run->internal.data, run->internal.data + n);
      return exit;
    }
    case KVM_EXIT_FAIL_ENTRY:
      exit.kind = Kind::kFailEntry;
      exit.hardware_entry_failure_reason =
          run->fail_entry.hardware_entry_failure_reason;
      return exit;
    case KVM_EXIT_INTR:
      exit.kind = Kind::kInterrupted;
      return exit;
    default:
      exit.kind = Kind::kUnknown;
      return exit;
  }
}

}  // namespace blimp::kvm

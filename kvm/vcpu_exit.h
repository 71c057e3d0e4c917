// VcpuExit: why KVM_RUN returned, decoded from struct kvm_run into plain
// fields. `data` points into the vCPU's kvm_run page and is valid until the
// next Vcpu::Run().
#ifndef BLIMP_KVM_VCPU_EXIT_H_
#define BLIMP_KVM_VCPU_EXIT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"

namespace blimp::kvm {

struct VcpuExit {
  enum class Kind {
    kIoIn,           // KVM_EXIT_IO, KVM_EXIT_IO_IN: fill `data`.
    kIoOut,          // KVM_EXIT_IO, KVM_EXIT_IO_OUT: `data` holds the bytes.
    kMmioRead,       // KVM_EXIT_MMIO, !is_write: fill `data`.
    kMmioWrite,      // KVM_EXIT_MMIO, is_write: `data` holds the bytes.
    kHlt,            // KVM_EXIT_HLT (only without an in-kernel irqchip).
    kShutdown,       // KVM_EXIT_SHUTDOWN (triple fault).
    kSystemEvent,    // KVM_EXIT_SYSTEM_EVENT: see system_event_type.
    kInternalError,  // KVM_EXIT_INTERNAL_ERROR: see internal_suberror/data.
    kFailEntry,      // KVM_EXIT_FAIL_ENTRY: hardware_entry_failure_reason.
    kInterrupted,    // KVM_RUN returned EINTR, or KVM_EXIT_INTR
                     // (a signal, or immediate_exit was set).
    kUnknown,        // Any other exit_reason; see raw_exit_reason.
  };

  Kind kind = Kind::kUnknown;
  // kIoIn / kIoOut: the port.
  uint16_t port = 0;
  // kMmioRead / kMmioWrite: the guest-physical address.
  uint64_t address = 0;
  // The bytes of the access, inside kvm_run. PIO: all `count` accesses of
  // `size` bytes each, back to back (count > 1 for rep ins/outs). MMIO: `size`
  // bytes (count is 1).
  absl::Span<uint8_t> data;
  uint32_t size = 0;   // Bytes per access.
  uint32_t count = 0;  // Number of accesses (PIO string I/O), else 1.
  // kSystemEvent: KVM_SYSTEM_EVENT_SHUTDOWN / _RESET / _CRASH / ...
  uint32_t system_event_type = 0;
  // kInternalError: KVM_INTERNAL_ERROR_* and the extra words KVM gave.
  uint32_t internal_suberror = 0;
  std::vector<uint64_t> internal_data;
  // kFailEntry.
  uint64_t hardware_entry_failure_reason = 0;
  // kvm_run->exit_reason as KVM reported it (KVM_EXIT_INTR for an EINTR).
  uint32_t raw_exit_reason = 0;
};

// "io-in", "mmio-write", "hlt", ...: for logs.
std::string ExitKindName(VcpuExit::Kind kind);

}  // namespace blimp::kvm

#endif  // BLIMP_KVM_VCPU_EXIT_H_

// Why a microVM stopped; blimp-vmm exits with it and blimpd reports it.
#ifndef BLIMP_VMM_EXIT_REASON_H_
#define BLIMP_VMM_EXIT_REASON_H_

#include <string>

namespace blimp::vmm {

enum class ExitReason {
  kPowerOff,  // The guest powered off (ACPI S5).
  kReboot,    // The guest asked for a reset (ACPI reset register, i8042).
  kStopped,   // The host asked: SIGTERM/SIGINT or the control API.
  kShutdown,  // Triple fault (KVM_EXIT_SHUTDOWN).
  kError,     // The VMM could not go on (e.g. an instruction KVM cannot run).
};

inline const char* ExitReasonName(ExitReason reason) {
  switch (reason) {
    case ExitReason::kPowerOff: return "guest powered off";
    case ExitReason::kReboot: return "guest rebooted";
    case ExitReason::kStopped: return "stopped by the host";
    case ExitReason::kShutdown: return "guest triple fault";
    case ExitReason::kError: return "VMM error";
  }
  return "unknown";
}

// A clean stop exits 0; a triple fault or a VMM error exits non-zero.
inline int ExitCode(ExitReason reason) {
  return reason == ExitReason::kShutdown || reason == ExitReason::kError ? 3 : 0;
}

}  // namespace blimp::vmm

#endif  // BLIMP_VMM_EXIT_REASON_H_

#include "kvm/vcpu_exit.h"

namespace blimp::kvm {

std::string ExitKindName(VcpuExit::Kind kind) {
  using Kind = VcpuExit::Kind;
  switch (kind) {
    case Kind::kIoIn: return "io-in";
    case Kind::kIoOut: return "io-out";
    case Kind::kMmioRead: return "mmio-read";
    case Kind::kMmioWrite: return "mmio-write";
    case Kind::kHlt: return "hlt";
    case Kind::kShutdown: return "shutdown";
    case Kind::kSystemEvent: return "system-event";
    case Kind::kInternalError: return "internal-error";
    case Kind::kFailEntry: return "fail-entry";
    case Kind::kInterrupted: return "interrupted";
    case Kind::kUnknown: return "unknown";
  }
  return "invalid";
}

}  // namespace blimp::kvm

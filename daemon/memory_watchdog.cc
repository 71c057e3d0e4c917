#include "daemon/memory_watchdog.h"

namespace blimp::daemon {

MemoryWatchdog::MemoryWatchdog(VmList vms, absl::Duration interval, absl::Duration timeout)
    : vms_(std::move(vms)), interval_(interval), timeout_(timeout) {
  thread_ = std::thread([this] { Run(); });
}

MemoryWatchdog::~MemoryWatchdog() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void MemoryWatchdog::Run() {
  for (;;) {
    const absl::Time next = absl::Now() + interval_;
    for (const std::shared_ptr<VmInstance>& vm : vms_()) {
      {
        absl::MutexLock lock(&mu_);
        if (stop_) return;
      }
      vm->CheckMemory(timeout_);
    }
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithDeadline(absl::Condition(&stop_), next)) return;
  }
}

}  // namespace blimp::daemon

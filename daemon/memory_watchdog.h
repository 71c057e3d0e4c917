// MemoryWatchdog: one thread that runs VmInstance::CheckMemory on every
// running VM each `interval` (a wedged VM costs at most `timeout` of the
// round, then keeps its last check).
#ifndef BLIMP_DAEMON_MEMORY_WATCHDOG_H_
#define BLIMP_DAEMON_MEMORY_WATCHDOG_H_

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/vm_instance.h"

namespace blimp::daemon {

class MemoryWatchdog {
 public:
  using VmList = std::function<std::vector<std::shared_ptr<VmInstance>>()>;

  MemoryWatchdog(VmList vms, absl::Duration interval, absl::Duration timeout);
  ~MemoryWatchdog();  // Stops the thread.

  MemoryWatchdog(const MemoryWatchdog&) = delete;
  MemoryWatchdog& operator=(const MemoryWatchdog&) = delete;

 private:
  void Run();

  const VmList vms_;
  const absl::Duration interval_;
  const absl::Duration timeout_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_MEMORY_WATCHDOG_H_

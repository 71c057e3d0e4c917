// What the VMs' consoles wrote, summed over every VM of the daemon, for its
// metrics. Each blimp-vmm serves its own console (vmm/console/) and reports
// its counters; the daemon adds up their growth (VmInstance).
#ifndef BLIMP_DAEMON_CONSOLE_TOTALS_H_
#define BLIMP_DAEMON_CONSOLE_TOTALS_H_

#include <atomic>
#include <cstdint>

namespace blimp::daemon {

// blimpd's --console-log-max-bytes default, passed to every blimp-vmm.
inline constexpr uint64_t kDefaultConsoleLogMaxBytes = 8 << 20;

struct ConsoleTotals {
  std::atomic<uint64_t> bytes_logged{0};  // Written to console.log files.
  std::atomic<uint64_t> rotations{0};     // console.log -> console.log.1 moves.
};

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_CONSOLE_TOTALS_H_

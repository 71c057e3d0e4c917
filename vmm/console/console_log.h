// ConsoleLog: a VM's serial output on disk, capped. Output is appended to
// console.log; when the next byte would pass the cap, console.log's contents
// move to console.log.1 (replacing the previous generation) and console.log
// starts empty. Both files are opened once, at Open(): a rotation is copy
// and truncate on those fds, never a path operation, so blimp-vmm can keep
// its log under its seccomp filter (which allows no write-open or rename).
// Not thread-safe (the Console serialises its calls).
#ifndef BLIMP_VMM_CONSOLE_CONSOLE_LOG_H_
#define BLIMP_VMM_CONSOLE_CONSOLE_LOG_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "base/unique_fd.h"

namespace blimp::vmm {

inline constexpr uint64_t kDefaultConsoleLogMaxBytes = 8 << 20;

// What one VM's console wrote, for its metrics.
struct ConsoleCounters {
  std::atomic<uint64_t> bytes_logged{0};  // Written to console.log.
  std::atomic<uint64_t> rotations{0};     // console.log -> console.log.1 moves.
};

class ConsoleLog {
 public:
  // Opens (0600, creating them if needed) `path` and `path`.1; output goes
  // after what `path` already holds. `max_bytes` > 0, else INVALID_ARGUMENT.
  static absl::StatusOr<ConsoleLog> Open(const std::string& path, uint64_t max_bytes,
                                         std::shared_ptr<ConsoleCounters> counters);

  // Writes everything, rotating whenever the cap is reached. After a write
  // error the log stops (logged once) and later output is dropped.
  void Append(const char* data, size_t size);

  const ConsoleCounters& counters() const { return *counters_; }

 private:
  ConsoleLog(std::string path, uint64_t max_bytes, std::shared_ptr<ConsoleCounters> counters)
      : path_(std::move(path)), max_bytes_(max_bytes), counters_(std::move(counters)) {}

  // console.log -> console.log.1; false if the log had to stop.
  bool Rotate();
  void StopLogging(const std::string& why);

  std::string path_;
  uint64_t max_bytes_;
  std::shared_ptr<ConsoleCounters> counters_;
  base::UniqueFd current_;   // console.log, O_APPEND.
  base::UniqueFd previous_;  // console.log.1.
  uint64_t size_ = 0;        // Of console.log.
};

}  // namespace blimp::vmm

#endif  // BLIMP_VMM_CONSOLE_CONSOLE_LOG_H_

// ConsoleHost: the console served from blimp-vmm itself (--console-log,
// --console-sock), so that it keeps logging and serving while blimpd is down
// or restarting. It owns an event-loop thread, the UART's two pipes and the
// Console on their far ends. Built before the VM (and before the seccomp
// filter: every file and socket is opened here); outlives it.
#ifndef BLIMP_VMM_CONSOLE_CONSOLE_HOST_H_
#define BLIMP_VMM_CONSOLE_CONSOLE_HOST_H_

#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "base/event_loop.h"
#include "base/unique_fd.h"
#include "vmm/console/console.h"

namespace blimp::vmm {

class ConsoleHost {
 public:
  static absl::StatusOr<std::unique_ptr<ConsoleHost>> Start(ConsoleOptions options);
  ~ConsoleHost();  // Flushes the last output to the log and the clients.

  ConsoleHost(const ConsoleHost&) = delete;
  ConsoleHost& operator=(const ConsoleHost&) = delete;

  // The UART's ends: it reads its input from one and writes its output to
  // the other.
  int uart_input_fd() const { return uart_input_.get(); }
  int uart_output_fd() const { return uart_output_.get(); }
  const ConsoleCounters& counters() const { return *counters_; }

 private:
  ConsoleHost() = default;

  std::shared_ptr<ConsoleCounters> counters_;
  std::unique_ptr<base::EventLoop> loop_;
  std::thread loop_thread_;
  std::shared_ptr<Console> console_;
  base::UniqueFd uart_input_;
  base::UniqueFd uart_output_;
};

}  // namespace blimp::vmm

#endif  // BLIMP_VMM_CONSOLE_CONSOLE_HOST_H_

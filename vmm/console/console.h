// A VM's serial console, served by its own blimp-vmm so that it outlives the
// daemon (a blimpd restart re-adopts running VMs): the UART's output (read
// from `output`, a pipe) is appended to console.log (ConsoleLog: capped, one
// old generation in console.log.1) and sent to every client of console.sock
// (a unix stream socket, 0600); whatever a client writes goes to `input`, the
// UART's input pipe. Clients attach and detach (close) at will and see the
// output from the moment they attach; a client too slow to keep up loses
// output rather than stall the guest. All I/O runs on one EventLoop thread;
// Close() may be called from any thread.
#ifndef BLIMP_VMM_CONSOLE_CONSOLE_H_
#define BLIMP_VMM_CONSOLE_CONSOLE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/event_loop.h"
#include "base/unique_fd.h"
#include "vmm/console/console_log.h"

namespace blimp::vmm {

struct ConsoleOptions {
  std::string log_path;     // Appended to (0600); <log_path>.1 is the old generation.
  std::string socket_path;  // Listened on (0600).
  uint64_t max_log_bytes = kDefaultConsoleLogMaxBytes;  // > 0.
  std::shared_ptr<ConsoleCounters> counters;  // Optional.
};

class Console : public std::enable_shared_from_this<Console> {
 public:
  // `output`: read end of the UART's output pipe; `input`: write end of its
  // input pipe.
  static absl::StatusOr<std::shared_ptr<Console>> Create(base::EventLoop& loop,
                                                         base::UniqueFd output,
                                                         base::UniqueFd input,
                                                         ConsoleOptions options);
  ~Console();

  // Copies what is left in the output pipe to the log and the clients, then
  // disconnects every client and removes the socket. Idempotent.
  void Close();

  int client_count();

 private:
  Console(base::EventLoop& loop, ConsoleOptions options)
      : loop_(loop), options_(std::move(options)) {}

  absl::Status Watch();
  void OnOutput();
  void OnAccept();
  void OnClient(int fd, uint32_t events);
  // Reads the output pipe until it would block; false at EOF or error.
  bool DrainOutputLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveClientLocked(int fd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  struct Client {
    base::UniqueFd fd;
    std::string pending;  // Output the socket could not take yet.
    bool want_write = false;
  };
  // Sends `data` after what is pending; false if the client is gone.
  bool SendLocked(Client& client, const char* data, size_t size)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WatchClientLocked(Client& client, bool want_write) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  base::EventLoop& loop_;
  const ConsoleOptions options_;
  absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  base::UniqueFd output_ ABSL_GUARDED_BY(mu_);
  base::UniqueFd input_ ABSL_GUARDED_BY(mu_);
  std::optional<ConsoleLog> log_ ABSL_GUARDED_BY(mu_);
  base::UniqueFd listener_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Client>> clients_ ABSL_GUARDED_BY(mu_);
};

}  // namespace blimp::vmm

#endif  // BLIMP_VMM_CONSOLE_CONSOLE_H_

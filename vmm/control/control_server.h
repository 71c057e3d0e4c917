// ControlServer: blimp-vmm's end of the internal control protocol on a unix
// SOCK_SEQPACKET socket. At most `max_connections` clients at once (blimpd
// keeps a few: calls and one statistics watch); more are accepted and closed
// at once, with a rate-limited log line. Each connection is served in order
// on its own thread; a watch_statistics request turns the connection into a
// stream of statistics, one message per guest refresh, until the client
// closes it, stops reading (send timeout) or the VM stops.
#ifndef BLIMP_VMM_CONTROL_CONTROL_SERVER_H_
#define BLIMP_VMM_CONTROL_CONTROL_SERVER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/event_fd.h"
#include "base/unique_fd.h"
#include "vmm/control/control_handler.h"

namespace blimp::vmm::control {

struct ControlServerOptions {
  int max_connections = 8;
  // A client that does not take an answer (or a statistics update) within
  // this long is cut off.
  absl::Duration send_timeout = absl::Seconds(5);
};

class ControlServer {
 public:
  // Listens on `path` (0600) and serves until Stop(). `handler` outlives
  // it. The caller holds LockControlSocket(path) (instance_lock.h).
  static absl::StatusOr<std::unique_ptr<ControlServer>> Start(const std::string& path,
                                                              ControlHandler& handler,
                                                              ControlServerOptions options = {});
  ~ControlServer();  // Stop().

  // Closes the listener and every connection, joins every thread and
  // removes the socket file. Idempotent.
  void Stop();

  int connection_count();
  // Connections refused because max_connections were open.
  int refused_count();

 private:
  struct Connection {
    base::UniqueFd fd;
    std::thread thread;
    bool done = false;  // Guarded by mu_: the thread has finished.
  };

  ControlServer(std::string path, ControlHandler& handler, ControlServerOptions options,
                base::UniqueFd listener, base::EventFd stop);

  void AcceptLoop();
  void Serve(Connection* connection);
  // Streams statistics on `fd` for request `id` until the stream ends.
  void Watch(int fd, uint64_t id);
  // Joins and frees the connections whose thread has finished.
  void ReapLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  ControlHandler& handler_;
  const ControlServerOptions options_;
  base::UniqueFd listener_;
  base::EventFd stop_;
  std::thread accept_thread_;
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  int refused_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_refusal_log_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::vector<std::unique_ptr<Connection>> connections_ ABSL_GUARDED_BY(mu_);
};

}  // namespace blimp::vmm::control

#endif  // BLIMP_VMM_CONTROL_CONTROL_SERVER_H_

// VmmClient: blimpd's end of the internal control protocol for one VM. Each
// call is bounded by its timeout (connect, send and answer), runs on one of
// at most `max_connections` pooled connections (so calls to a VM proceed in
// parallel and a slow one never blocks the pool for longer than its own
// timeout), and comes back as the VMM's own absl status: errors are
// converted once, here. Unavailable when the VMM cannot be reached,
// DeadlineExceeded when it did not answer in time (that connection is then
// dropped, never reused for another call's answer). Thread-safe.
#ifndef BLIMP_VMM_CONTROL_CONTROL_CLIENT_H_
#define BLIMP_VMM_CONTROL_CONTROL_CLIENT_H_

#include <atomic>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "vmm/control/control.pb.h"

namespace blimp::vmm::control {

class VmmClient {
 public:
  explicit VmmClient(std::string socket_path, int max_connections = 4);

  // Sends `request` (its id is set here) and returns the VMM's answer, or
  // the VMM's error as a status.
  absl::StatusOr<Response> Call(Request request, absl::Duration timeout);

  // Opens a statistics stream: a connection of its own, on which the VMM
  // sends a Response with `stats` now and on every refresh (blimpd opens
  // one per VM and fans it out to every client: daemon/stats_fanout.h). Read it with
  // ReadWatch when its fd is readable (e.g. from an EventLoop).
  absl::StatusOr<base::UniqueFd> Watch(absl::Duration timeout);
  // The next statistics on a watch fd: the VMM's error (e.g. Unavailable
  // "the VM stopped" or FailedPrecondition "statistics are not enabled"),
  // Unavailable when the stream ended, DeadlineExceeded if nothing came.
  static absl::StatusOr<blimp::v1::BalloonStats> ReadWatch(int fd, absl::Duration timeout);

  const std::string& socket_path() const { return socket_path_; }

 private:
  // An idle pooled connection or a new one (bounded by max_connections),
  // waiting for one until `deadline`.
  absl::StatusOr<base::UniqueFd> Acquire(absl::Time deadline);
  // Returns a healthy connection to the pool, or forgets a broken one.
  void Release(base::UniqueFd fd, bool healthy);

  const std::string socket_path_;
  const int max_connections_;
  std::atomic<uint64_t> next_id_{1};
  absl::Mutex mu_;
  std::vector<base::UniqueFd> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // Idle plus in use.
};

}  // namespace blimp::vmm::control

#endif  // BLIMP_VMM_CONTROL_CONTROL_CLIENT_H_

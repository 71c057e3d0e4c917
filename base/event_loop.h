// EventLoop: an epoll loop that calls a callback when its fd is ready.
// Add/Remove/Stop may be called from any thread, including from callbacks.
#ifndef BLIMP_BASE_EVENT_LOOP_H_
#define BLIMP_BASE_EVENT_LOOP_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/event_fd.h"
#include "base/unique_fd.h"

namespace blimp::base {

class EventLoop {
 public:
  // Receives the ready epoll events (EPOLLIN, EPOLLOUT, EPOLLHUP, ...).
  using Callback = std::function<void(uint32_t events)>;

  static absl::StatusOr<std::unique_ptr<EventLoop>> Create();

  // Watches `fd` (not owned) for `events`. One registration per fd.
  absl::Status Add(int fd, uint32_t events, Callback callback);
  // Stops watching `fd`; its callback is not called again once this returns
  // (unless it is running right now on the loop thread).
  absl::Status Remove(int fd);

  // Dispatches events until Stop() is called.
  absl::Status Run();
  // Waits up to `timeout_ms` (-1 = forever) and dispatches one batch.
  absl::Status RunOnce(int timeout_ms);
  // Makes Run() return after its current batch.
  void Stop();

 private:
  struct Watch {
    int fd;
    Callback callback;
  };

  EventLoop(UniqueFd epoll, EventFd wakeup)
      : epoll_(std::move(epoll)), wakeup_(std::move(wakeup)) {}

  UniqueFd epoll_;
  EventFd wakeup_;  // Interrupts epoll_wait for Stop().
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<int, std::shared_ptr<Watch>> watches_ ABSL_GUARDED_BY(mu_);
};

}  // namespace blimp::base

#endif  // BLIMP_BASE_EVENT_LOOP_H_

// Lanes: a keyed executor for the gateway's handlers. Tasks with the same
// lane key (one VM) run at most `concurrency` at a time, in order of
// submission, with at most `queue_limit` waiting; a full lane refuses new
// tasks at once (the server answers 503). Worker threads are created on
// demand up to `max_threads` in total and exit after `idle_exit` without
// work. A lane whose tasks block never delays another lane while threads
// remain (each lane holds at most `concurrency` of them).
#ifndef BLIMP_GATEWAY_LANES_H_
#define BLIMP_GATEWAY_LANES_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace blimp::gateway {

struct LanesOptions {
  int concurrency = 4;      // Running tasks per lane.
  size_t queue_limit = 64;  // Waiting tasks per lane.
  int max_threads = 64;     // Worker threads in total.
  absl::Duration idle_exit = absl::Seconds(10);
};

class Lanes {
 public:
  explicit Lanes(LanesOptions options = {});
  // Drops waiting tasks and waits for running ones to return.
  ~Lanes();

  Lanes(const Lanes&) = delete;
  Lanes& operator=(const Lanes&) = delete;

  // Queues `task` on `lane`; false (and `task` is dropped) when that lane
  // already has queue_limit tasks waiting, or after Shutdown().
  bool Submit(const std::string& lane, std::function<void()> task);

  // Drops every waiting task (never run) and refuses new ones; running
  // tasks finish on their own. Does not wait. Idempotent.
  void Shutdown();

  struct Stats {
    int threads = 0;       // Worker threads alive.
    int idle_threads = 0;  // Of them, waiting for work.
    int running = 0;       // Tasks running.
    size_t queued = 0;     // Tasks waiting.
    size_t lanes = 0;      // Lanes with a task running or waiting.
  };
  Stats stats() const;

  // Waits until no task runs or waits and no worker thread is alive, up to
  // `timeout`; true if so. For tests and shutdown.
  bool WaitUntilIdle(absl::Duration timeout) const;

 private:
  struct Task {
    std::string lane;
    std::function<void()> run;
  };
  struct Lane {
    int active = 0;  // Tasks in State::ready or running (<= concurrency).
    std::deque<std::function<void()>> waiting;  // Beyond those.
  };
  // Shared with the worker threads (detached), so that no worker ever
  // touches freed memory.
  struct State {
    explicit State(LanesOptions options) : options(options) {}
    const LanesOptions options;
    mutable absl::Mutex mu;
    absl::CondVar work;             // A task is ready, or shutdown.
    mutable absl::CondVar changed;  // A task or thread ended.
    bool shutdown ABSL_GUARDED_BY(mu) = false;
    std::map<std::string, Lane> lanes ABSL_GUARDED_BY(mu);
    std::deque<Task> ready ABSL_GUARDED_BY(mu);  // May start now.
    int threads ABSL_GUARDED_BY(mu) = 0;
    int idle ABSL_GUARDED_BY(mu) = 0;
    int running ABSL_GUARDED_BY(mu) = 0;
    size_t waiting ABSL_GUARDED_BY(mu) = 0;
  };

  static void* Work(void* state);  // Takes a new std::shared_ptr<State>.

  std::shared_ptr<State> state_;
};

}  // namespace blimp::gateway

#endif  // BLIMP_GATEWAY_LANES_H_

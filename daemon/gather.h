// GatherWithin: asks many VMs at once and waits for the answers at most a
// given time. Each call runs on a short-lived thread of its own and must be
// bounded itself (a control call with its deadline); an answer that comes
// after `timeout` is dropped, so one wedged VM costs the caller `timeout`,
// never more, however many VMs there are.
#ifndef BLIMP_DAEMON_GATHER_H_
#define BLIMP_DAEMON_GATHER_H_

#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace blimp::daemon {

template <typename T>
std::vector<std::optional<T>> GatherWithin(std::vector<std::function<T()>> calls,
                                           absl::Duration timeout) {
  // Shared with the threads, which may outlive this call.
  struct Pending {
    absl::Mutex mu;
    size_t left ABSL_GUARDED_BY(mu) = 0;
    std::vector<std::optional<T>> results ABSL_GUARDED_BY(mu);
  };
  auto pending = std::make_shared<Pending>();
  {
    absl::MutexLock lock(&pending->mu);
    pending->left = calls.size();
    pending->results.resize(calls.size());
  }
  for (size_t i = 0; i < calls.size(); ++i) {
    std::thread([pending, i, call = std::move(calls[i])] {
      T result = call();
      absl::MutexLock lock(&pending->mu);
      pending->results[i] = std::move(result);
      --pending->left;
    }).detach();
  }
  absl::MutexLock lock(&pending->mu);
  auto all_done = [&pending]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pending->mu) {
    return pending->left == 0;
  };
  pending->mu.AwaitWithTimeout(absl::Condition(&all_done), timeout);
  return pending->results;
}

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_GATHER_H_

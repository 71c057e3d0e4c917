#include "gateway/lanes.h"

#include <pthread.h>

#include <cstring>
#include <utility>
#include <vector>

#include "glog/logging.h"

namespace blimp::gateway {

Lanes::Lanes(LanesOptions options) : state_(std::make_shared<State>(options)) {
  CHECK_GT(options.concurrency, 0);
  CHECK_GT(options.max_threads, 0);
}

Lanes::~Lanes() {
  Shutdown();
  absl::MutexLock lock(&state_->mu);
  // Tasks reference their submitter: never return while one runs.
  while (state_->running > 0) state_->changed.Wait(&state_->mu);
}

bool Lanes::Submit(const std::string& name, std::function<void()> task) {
  State& s = *state_;
  absl::MutexLock lock(&s.mu);
  if (s.shutdown) return false;
  Lane& lane = s.lanes[name];
  if (lane.active < s.options.concurrency) {
    ++lane.active;
    s.ready.push_back(Task{name, std::move(task)});
  } else if (lane.waiting.size() < s.options.queue_limit) {
    lane.waiting.push_back(std::move(task));
    ++s.waiting;
    return true;  // Starts when one of the lane's tasks ends.
  } else {
    return false;
  }
  // More ready tasks than threads that will take one: add a thread.
  if (s.ready.size() > static_cast<size_t>(s.idle) && s.threads < s.options.max_threads) {
    auto* arg = new std::shared_ptr<State>(state_);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    const int rc = pthread_create(&thread, &attr, &Lanes::Work, arg);
    pthread_attr_destroy(&attr);
    if (rc == 0) {
      ++s.threads;
    } else {
      delete arg;
      LOG_EVERY_N(WARNING, 100) << "gateway: cannot start a worker thread: " << std::strerror(rc);
      if (s.threads == 0) {
        // Nobody would ever run it: refuse it (the lane has room again).
        s.ready.pop_back();
        if (--lane.active == 0 && lane.waiting.empty()) s.lanes.erase(name);
        return false;
      }
    }
  } else {
    s.work.Signal();
  }
  return true;
}

void Lanes::Shutdown() {
  std::deque<Task> ready;
  std::map<std::string, Lane> lanes;
  {
    absl::MutexLock lock(&state_->mu);
    if (state_->shutdown) return;
    state_->shutdown = true;
    ready.swap(state_->ready);
    lanes.swap(state_->lanes);
    state_->waiting = 0;
    state_->work.SignalAll();
  }
  // The dropped tasks are destroyed here, outside the lock.
}

Lanes::Stats Lanes::stats() const {
  absl::MutexLock lock(&state_->mu);
  Stats stats;
  stats.threads = state_->threads;
  stats.idle_threads = state_->idle;
  stats.running = state_->running;
  stats.queued = state_->waiting + state_->ready.size();
  stats.lanes = state_->lanes.size();
  return stats;
}

bool Lanes::WaitUntilIdle(absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&state_->mu);
  while (state_->threads > 0 || state_->running > 0 || !state_->ready.empty() ||
         state_->waiting > 0) {
    if (state_->changed.WaitWithDeadline(&state_->mu, deadline)) {
      return state_->threads == 0 && state_->running == 0 && state_->ready.empty() &&
             state_->waiting == 0;
    }
  }
  return true;
}

void* Lanes::Work(void* arg) {
  // SAFETY: Submit passes a heap-allocated shared_ptr<State>, owned from here.
  std::shared_ptr<State> owned = std::move(*static_cast<std::shared_ptr<State>*>(arg));
  delete static_cast<std::shared_ptr<State>*>(arg);
  State& s = *owned;
  pthread_setname_np(pthread_self(), "gateway-lane");  // prctl, no /proc write.
  s.mu.Lock();
  while (!s.shutdown) {
    if (s.ready.empty()) {
      ++s.idle;
      const bool timed_out = s.work.WaitWithTimeout(&s.mu, s.options.idle_exit);
      --s.idle;
      if (timed_out && s.ready.empty()) break;
      continue;
    }
    Task task = std::move(s.ready.front());
    s.ready.pop_front();
    ++s.running;
    s.mu.Unlock();
    task.run();
    task.run = nullptr;  // Its captures go before the lane moves on.
    s.mu.Lock();
    --s.running;
    if (!s.shutdown) {
      auto it = s.lanes.find(task.lane);
      CHECK(it != s.lanes.end()) << "lane '" << task.lane << "' vanished while it ran a task";
      Lane& lane = it->second;
      if (!lane.waiting.empty()) {
        // Its slot goes to the lane's next task.
        s.ready.push_back(Task{task.lane, std::move(lane.waiting.front())});
        lane.waiting.pop_front();
        --s.waiting;
      } else if (--lane.active == 0) {
        s.lanes.erase(it);
      }
    }
    s.changed.SignalAll();
  }
  --s.threads;
  s.changed.SignalAll();
  s.mu.Unlock();
  return nullptr;
}

}  // namespace blimp::gateway

#include "daemon/stats_fanout.h"

#include <sys/epoll.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "glog/logging.h"
#include "vmm/control/control_client.h"

namespace blimp::daemon {

namespace v1 = blimp::v1;

// One subscriber's mailbox: the latest update not taken yet, the end.
class StatsFanout::Subscription {
 public:
  Subscription(Notify notify, std::atomic<uint64_t>& coalesced_total)
      : notify_(std::move(notify)), coalesced_total_(coalesced_total) {}

  void Offer(const v1::BalloonStats& stats) {
    Store(stats);
    CallNotify();
  }

  // Offer() without the notify, for callers that hold a fan-out lock (they
  // call Poke() once they have let go).
  void Store(const v1::BalloonStats& stats) {
    absl::MutexLock lock(&mu_);
    if (end_.has_value()) return;
    if (pending_.has_value()) {
      ++coalesced_;  // A snapshot replaced before it was taken.
      ++coalesced_total_;
    }
    pending_ = stats;
  }

  void Poke() { CallNotify(); }

  void EndWith(const absl::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (end_.has_value()) return;
      end_ = status;
    }
    CallNotify();
  }

  Next Take() {
    absl::MutexLock lock(&mu_);
    Next next;
    if (pending_.has_value()) {
      next.stats = std::move(*pending_);
      pending_.reset();
    } else {
      next.end = end_;
    }
    return next;
  }

  uint64_t coalesced() {
    absl::MutexLock lock(&mu_);
    return coalesced_;
  }

  // No notify from now on; waits for those running on other threads (one
  // running on this thread is the caller itself).
  void Detach() {
    const std::thread::id me = std::this_thread::get_id();
    absl::MutexLock lock(&mu_);
    detached_ = true;
    auto idle = [this, me]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return std::all_of(notifying_.begin(), notifying_.end(),
                         [me](std::thread::id id) { return id == me; });
    };
    mu_.Await(absl::Condition(&idle));
  }

 private:
  // Outside mu_: the subscriber may Take() from inside its notify.
  void CallNotify() {
    const std::thread::id me = std::this_thread::get_id();
    {
      absl::MutexLock lock(&mu_);
      if (detached_) return;
      notifying_.push_back(me);
    }
    notify_();
    absl::MutexLock lock(&mu_);
    notifying_.erase(std::find(notifying_.begin(), notifying_.end(), me));
  }

  const Notify notify_;
  std::atomic<uint64_t>& coalesced_total_;
  absl::Mutex mu_;
  std::optional<v1::BalloonStats> pending_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> end_ ABSL_GUARDED_BY(mu_);
  uint64_t coalesced_ ABSL_GUARDED_BY(mu_) = 0;
  bool detached_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread::id> notifying_ ABSL_GUARDED_BY(mu_);
};

// One VM's watch connection and its subscribers. Lock order: the fan-out's
// mu_, then a group's mu.
struct StatsFanout::Group {
  Group(std::string vm_id, std::weak_ptr<const void> instance)
      : vm_id(std::move(vm_id)), instance(std::move(instance)) {}
  const std::string vm_id;
  const std::weak_ptr<const void> instance;
  absl::Mutex mu;
  std::set<std::shared_ptr<Subscription>> subscribers ABSL_GUARDED_BY(mu);
  base::UniqueFd fd ABSL_GUARDED_BY(mu);  // Invalid while opening.
  // The VM's last update: a subscriber joining an open watch gets it at
  // once, as the VMM gives a new watch its current statistics.
  std::optional<v1::BalloonStats> latest ABSL_GUARDED_BY(mu);
  bool ended ABSL_GUARDED_BY(mu) = false;
};

namespace {

// The same VM process: weak_ptrs that share an owner (works once expired).
bool SameInstance(const std::weak_ptr<const void>& a, const std::weak_ptr<const void>& b) {
  return !a.owner_before(b) && !b.owner_before(a);
}

}  // namespace

StatsFanout::Handle::Handle(Handle&& other) noexcept
    : fanout_(std::exchange(other.fanout_, nullptr)),
      subscription_(std::move(other.subscription_)),
      group_(std::move(other.group_)) {}

StatsFanout::Handle::~Handle() {
  if (fanout_ != nullptr) fanout_->Unsubscribe(group_, subscription_);
}

StatsFanout::Next StatsFanout::Handle::Take() { return subscription_->Take(); }

uint64_t StatsFanout::Handle::coalesced() { return subscription_->coalesced(); }

absl::StatusOr<std::unique_ptr<StatsFanout>> StatsFanout::Create(WatchLimits limits) {
  ASSIGN_OR_RETURN(std::unique_ptr<base::EventLoop> loop, base::EventLoop::Create());
  return std::unique_ptr<StatsFanout>(new StatsFanout(limits, std::move(loop)));
}

StatsFanout::StatsFanout(WatchLimits limits, std::unique_ptr<base::EventLoop> loop)
    : limits_(limits), loop_(std::move(loop)) {
  loop_thread_ = std::thread([this] {
    absl::Status status = loop_->Run();
    if (!status.ok()) LOG(ERROR) << "statistics fan-out event loop: " << status;
  });
}

StatsFanout::~StatsFanout() {
  std::vector<std::shared_ptr<Group>> groups;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, group] : groups_) groups.push_back(group);
  }
  for (const auto& group : groups) End(group, absl::UnavailableError("blimpd is shutting down"));
  loop_->Stop();
  loop_thread_.join();
}

int StatsFanout::subscribers() {
  absl::MutexLock lock(&mu_);
  return subscribers_;
}

int StatsFanout::vm_watches() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(groups_.size());
}

absl::StatusOr<StatsFanout::Handle> StatsFanout::Subscribe(const std::string& vm_id,
                                                           std::weak_ptr<const void> instance,
                                                           Opener open, Notify notify) {
  auto subscription = std::make_shared<Subscription>(std::move(notify), coalesced_total_);
  std::shared_ptr<Group> group;
  std::shared_ptr<Group> replaced;  // A watch of an earlier VM with this id.
  bool opener = false;
  {
    absl::MutexLock lock(&mu_);
    if (subscribers_ >= limits_.total) {
      return absl::ResourceExhaustedError(
          absl::StrCat("blimpd serves at most ", limits_.total,
                       " statistics streams at once (--max-watches)"));
    }
    auto it = groups_.find(vm_id);
    if (it != groups_.end() && SameInstance(it->second->instance, instance)) {
      group = it->second;
    } else {
      if (limits_.per_vm < 1) {
        return absl::ResourceExhaustedError(
            absl::StrCat("VM '", vm_id, "' already has ", limits_.per_vm,
                         " statistics streams (--max-watches-per-vm)"));
      }
      if (it != groups_.end()) replaced = it->second;
      group = std::make_shared<Group>(vm_id, instance);
      groups_[vm_id] = group;
      opener = true;
    }
    absl::MutexLock group_lock(&group->mu);
    if (static_cast<int>(group->subscribers.size()) >= limits_.per_vm) {
      return absl::ResourceExhaustedError(
          absl::StrCat("VM '", vm_id, "' already has ", limits_.per_vm,
                       " statistics streams (--max-watches-per-vm)"));
    }
    group->subscribers.insert(subscription);
    ++subscribers_;
    // Under group->mu: every later update reaches it after this one.
    if (group->latest.has_value()) subscription->Store(*group->latest);
  }
  if (replaced) End(replaced, absl::UnavailableError(absl::StrCat("VM '", vm_id, "' is gone")));
  // Outside every lock: connecting may take up to the control timeout.
  if (opener) {
    Opened(group, open());
  } else {
    subscription->Poke();
  }
  return Handle(this, std::move(subscription), std::move(group));
}

void StatsFanout::Opened(const std::shared_ptr<Group>& group, absl::StatusOr<base::UniqueFd> fd) {
  if (!fd.ok()) {
    End(group, fd.status());
    return;
  }
  absl::Status added;
  {
    absl::MutexLock lock(&group->mu);
    if (group->ended) return;  // Its last subscriber left meanwhile: `fd` closes.
    group->fd = *std::move(fd);
    // Under group->mu, so End() cannot close the fd between the two.
    added = loop_->Add(group->fd.get(), EPOLLIN, [this, group](uint32_t) { OnReadable(group); });
    if (!added.ok()) group->fd.Reset();
  }
  if (!added.ok()) {
    LOG(ERROR) << "VM '" << group->vm_id << "' statistics watch: " << added;
    End(group, absl::InternalError(absl::StrCat("statistics watch: ", added.message())));
  }
}

void StatsFanout::OnReadable(const std::shared_ptr<Group>& group) {
  std::vector<v1::BalloonStats> updates;
  absl::Status ended;
  std::vector<std::shared_ptr<Subscription>> subscribers;
  {
    absl::MutexLock lock(&group->mu);
    if (group->ended) return;
    // Everything that has come, without waiting for more.
    while (true) {
      absl::StatusOr<v1::BalloonStats> stats =
          vmm::control::VmmClient::ReadWatch(group->fd.get(), absl::ZeroDuration());
      if (stats.ok()) {
        updates.push_back(*std::move(stats));
        continue;
      }
      if (stats.status().code() != absl::StatusCode::kDeadlineExceeded) ended = stats.status();
      break;
    }
    if (!updates.empty()) group->latest = updates.back();
    subscribers.assign(group->subscribers.begin(), group->subscribers.end());
  }
  // Only the newest matters to a subscriber that has not taken the last.
  for (const auto& subscription : subscribers) {
    for (const v1::BalloonStats& stats : updates) subscription->Offer(stats);
  }
  if (!ended.ok()) {
    End(group, absl::Status(ended.code(), absl::StrCat("VM '", group->vm_id,
                                                       "' statistics stream ended: ",
                                                       ended.message())));
  }
}

void StatsFanout::End(const std::shared_ptr<Group>& group, const absl::Status& status) {
  std::set<std::shared_ptr<Subscription>> subscribers;
  {
    absl::MutexLock lock(&mu_);
    auto it = groups_.find(group->vm_id);
    if (it != groups_.end() && it->second == group) groups_.erase(it);
    absl::MutexLock group_lock(&group->mu);
    if (group->ended) return;
    group->ended = true;
    if (group->fd.valid()) {
      loop_->Remove(group->fd.get()).IgnoreError();
      group->fd.Reset();  // The VMM sees the watch close.
    }
    subscribers = group->subscribers;
  }
  for (const auto& subscription : subscribers) subscription->EndWith(status);
}

void StatsFanout::Unsubscribe(const std::shared_ptr<Group>& group,
                              const std::shared_ptr<Subscription>& subscription) {
  subscription->Detach();
  bool last;
  {
    absl::MutexLock lock(&mu_);
    --subscribers_;
    absl::MutexLock group_lock(&group->mu);
    group->subscribers.erase(subscription);
    last = group->subscribers.empty() && !group->ended;
    // Out of the map now, so nobody joins a watch that is about to close.
    auto it = groups_.find(group->vm_id);
    if (last && it != groups_.end() && it->second == group) groups_.erase(it);
  }
  if (last) End(group, absl::CancelledError("no subscriber left"));
}

}  // namespace blimp::daemon

#include "daemon/vm_events.h"

#include "absl/strings/str_cat.h"

namespace blimp::daemon {

void VmEvents::Publish(const blimp::v1::VmEvent& event) {
  absl::MutexLock lock(&mu_);
  for (Subscription* sub : subscribers_) {
    if (!sub->vm_id_.empty() && sub->vm_id_ != event.vm_id()) continue;
    absl::MutexLock sub_lock(&sub->mu_);
    if (sub->queue_.size() >= queue_size_) {
      sub->queue_.pop_front();
      ++sub->dropped_;
      // The new oldest event comes right after the gap.
      if (!sub->queue_.empty()) sub->queue_.front().set_dropped_before(sub->dropped_);
    }
    sub->queue_.push_back(event);
    sub->queue_.back().set_dropped_before(sub->dropped_);
  }
}

absl::StatusOr<std::unique_ptr<VmEvents::Subscription>> VmEvents::Subscribe(
    const std::string& vm_id) {
  absl::MutexLock lock(&mu_);
  if (closed_) return absl::UnavailableError("blimpd is stopping");
  if (subscribers_.size() >= max_subscribers_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("at most ", max_subscribers_, " WatchVmEvents streams at once"));
  }
  std::unique_ptr<Subscription> sub(new Subscription(*this, vm_id));
  subscribers_.insert(sub.get());
  return sub;
}

void VmEvents::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  for (Subscription* sub : subscribers_) {
    absl::MutexLock sub_lock(&sub->mu_);
    sub->closed_ = true;
  }
}

VmEvents::Subscription::~Subscription() {
  absl::MutexLock lock(&events_.mu_);
  events_.subscribers_.erase(this);
}

std::optional<blimp::v1::VmEvent> VmEvents::Subscription::Next(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || closed_; };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (queue_.empty()) return std::nullopt;
  blimp::v1::VmEvent event = std::move(queue_.front());
  queue_.pop_front();
  return event;
}

bool VmEvents::Subscription::closed() {
  absl::MutexLock lock(&mu_);
  return closed_;
}

}  // namespace blimp::daemon

// VmEvents: blimpd's memory enforcement events, fanned out to the
// WatchVmEvents streams. Publish never blocks: each subscriber has a bounded
// queue and a slow one loses its oldest events (counted).
#ifndef BLIMP_DAEMON_VM_EVENTS_H_
#define BLIMP_DAEMON_VM_EVENTS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/blimp/v1/vm_service.pb.h"

namespace blimp::daemon {

class VmEvents {
 public:
  class Subscription;

  explicit VmEvents(size_t max_subscribers = 64, size_t queue_size = 256)
      : max_subscribers_(max_subscribers), queue_size_(queue_size) {}

  void Publish(const blimp::v1::VmEvent& event);
  // Events of `vm_id` ("" = all) from now on; RESOURCE_EXHAUSTED past
  // max_subscribers, UNAVAILABLE after Close().
  absl::StatusOr<std::unique_ptr<Subscription>> Subscribe(const std::string& vm_id);
  // Ends every subscription (blimpd stopping).
  void Close();

  class Subscription {
   public:
    ~Subscription();
    // The next event within `timeout`; nullopt on timeout or once closed.
    std::optional<blimp::v1::VmEvent> Next(absl::Duration timeout);
    bool closed();

   private:
    friend class VmEvents;
    Subscription(VmEvents& events, std::string vm_id) : events_(events), vm_id_(std::move(vm_id)) {}

    VmEvents& events_;
    const std::string vm_id_;
    absl::Mutex mu_;
    std::deque<blimp::v1::VmEvent> queue_ ABSL_GUARDED_BY(mu_);
    uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
    bool closed_ ABSL_GUARDED_BY(mu_) = false;
  };

 private:
  const size_t max_subscribers_;
  const size_t queue_size_;
  absl::Mutex mu_;
  std::set<Subscription*> subscribers_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_VM_EVENTS_H_

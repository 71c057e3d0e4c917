// StatsFanout: every WatchBalloonStatistics stream of blimpd fed from at most
// ONE statistics watch per VM. The VMM watch connection (VmmClient::Watch) is
// opened when a VM's first subscriber comes and closed when its last one
// leaves; its fd is read on the fan-out's own EventLoop thread and each
// update is handed to every subscriber of that VM. A subscriber never holds
// up the loop or the others: it keeps only the latest update it has not
// taken yet (statistics are snapshots; a replaced one is counted as
// coalesced) and is told through its `notify` callback that something is
// waiting. A subscriber joining a VM that is already watched gets its last
// update at once (a new VMM watch starts with the current statistics too). When the VM's stream ends (VM stopped, blimp-vmm gone, an error)
// every subscriber of that VM ends with that status, after its last update.
// The watch limits (per VM, in total) are checked here. Thread-safe.
#ifndef BLIMP_DAEMON_STATS_FANOUT_H_
#define BLIMP_DAEMON_STATS_FANOUT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/event_loop.h"
#include "base/unique_fd.h"
#include "proto/blimp/v1/balloon_service.pb.h"

namespace blimp::daemon {

struct WatchLimits {
  int per_vm = 8;   // Statistics streams open on one VM.
  int total = 256;  // ... and on all VMs together.
};

class StatsFanout {
 public:
  // Opens a VM's statistics watch (a VmmClient::Watch fd); called without
  // any lock held, at most once per watch connection.
  using Opener = std::function<absl::StatusOr<base::UniqueFd>()>;
  // "Something is waiting, call Take()": from the loop thread or from the
  // thread that subscribes or ends a VM, never with a fan-out lock held.
  using Notify = std::function<void()>;

  // What a subscriber takes next: the latest update, else the end status
  // once the VM's stream has ended, else nothing yet.
  struct Next {
    std::optional<blimp::v1::BalloonStats> stats;
    std::optional<absl::Status> end;
  };

  class Subscription;
  struct Group;
  // A subscriber's end: RAII, leaving on destruction (the VM's watch
  // connection closes with its last subscriber). Once the destructor has
  // returned, `notify` is not running and is never called again; do not
  // destroy it from inside its own `notify`.
  class Handle {
   public:
    Handle(Handle&& other) noexcept;
    Handle& operator=(Handle&&) = delete;
    ~Handle();
    Next Take();
    // Updates replaced before this subscriber took them.
    uint64_t coalesced();

   private:
    friend class StatsFanout;
    Handle(StatsFanout* fanout, std::shared_ptr<Subscription> subscription,
           std::shared_ptr<Group> group)
        : fanout_(fanout), subscription_(std::move(subscription)), group_(std::move(group)) {}
    StatsFanout* fanout_;
    std::shared_ptr<Subscription> subscription_;
    std::shared_ptr<Group> group_;
  };

  // Starts the loop thread.
  static absl::StatusOr<std::unique_ptr<StatsFanout>> Create(WatchLimits limits);
  // Ends every subscriber (UNAVAILABLE) and joins the loop thread. Handles
  // must not outlive it.
  ~StatsFanout();

  // Subscribes to VM `vm_id`'s statistics. `instance` identifies the VM's
  // process (only compared, never kept alive): a VM deleted and created
  // again under the same id gets a watch of its own. `open` is called if
  // this VM has no watch yet; its failure ends the subscriber (and any
  // that joined meanwhile) with its status. RESOURCE_EXHAUSTED past the
  // limits.
  absl::StatusOr<Handle> Subscribe(const std::string& vm_id, std::weak_ptr<const void> instance,
                                   Opener open, Notify notify);

  int subscribers();
  // VMs with a watch connection open (or opening) now.
  int vm_watches();
  // Updates replaced before their subscriber took them, all subscribers.
  uint64_t coalesced_total() { return coalesced_total_.load(); }

 private:
  StatsFanout(WatchLimits limits, std::unique_ptr<base::EventLoop> loop);
  void Unsubscribe(const std::shared_ptr<Group>& group,
                   const std::shared_ptr<Subscription>& subscription);
  // Called with the watch fd, or the opener's error, for `group`.
  void Opened(const std::shared_ptr<Group>& group, absl::StatusOr<base::UniqueFd> fd);
  // The loop callback of a group's watch fd: reads what came.
  void OnReadable(const std::shared_ptr<Group>& group);
  // Forgets `group` (if still current), closes its fd, ends its subscribers.
  void End(const std::shared_ptr<Group>& group, const absl::Status& status);

  const WatchLimits limits_;
  std::unique_ptr<base::EventLoop> loop_;
  std::thread loop_thread_;
  std::atomic<uint64_t> coalesced_total_{0};
  absl::Mutex mu_;
  int subscribers_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, std::shared_ptr<Group>> groups_ ABSL_GUARDED_BY(mu_);
};

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_STATS_FANOUT_H_

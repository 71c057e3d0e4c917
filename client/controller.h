// The fleet memory controller's loop around the policy (policy.h): one
// WatchBalloonStatistics stream per VM keeps the guest's latest statistics
// and when they arrived; every round reads each VM's size and balloon
// (GetVm), asks the policy, sends the changed targets (PatchBalloon) and logs
// every decision with its reason.
#ifndef BLIMP_CLIENT_CONTROLLER_H_
#define BLIMP_CLIENT_CONTROLLER_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "client/policy.h"
#include "proto/blimp/v1/balloon_service.grpc.pb.h"
#include "proto/blimp/v1/vm_service.grpc.pb.h"

namespace blimp::client {

struct ControllerOptions {
  std::vector<std::string> vm_ids;  // Empty: every running VM (ListVms).
  PolicyOptions policy;
  absl::Duration interval = absl::Seconds(2);
};

class Controller {
 public:
  Controller(std::shared_ptr<grpc::Channel> channel, ControllerOptions options);
  ~Controller();  // Stop().

  // One round; the decisions it made (changed or not).
  absl::StatusOr<std::vector<Decision>> RunOnce();
  // Rounds every `interval` until Stop().
  void Run();
  void Stop();

 private:
  struct Latest {
    bool has = false;
    blimp::v1::BalloonStats stats;
    absl::Time time = absl::InfinitePast();
  };
  struct Watcher {
    std::unique_ptr<grpc::ClientContext> context;
    std::thread thread;
    bool done = false;
  };
  void EnsureWatcher(const std::string& id);
  void Watch(const std::string& id);

  std::unique_ptr<blimp::v1::VmService::Stub> vms_;
  std::unique_ptr<blimp::v1::BalloonService::Stub> balloons_;
  const ControllerOptions options_;
  absl::Notification stop_;
  absl::Mutex mu_;
  std::map<std::string, Latest> latest_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> last_change_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Watcher> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace blimp::client

#endif  // BLIMP_CLIENT_CONTROLLER_H_

// DaemonApi: blimpd's one implementation of the public API (api::VmApi) over
// the Supervisor. Stateless rules are checked here, at the edge, before any
// process hop; each VM call is then one control-protocol request to that
// VM's blimp-vmm, bounded by the daemon's timeouts. The gRPC services and
// the REST gateways are thin translations of it. Thread-safe.
#ifndef BLIMP_DAEMON_DAEMON_API_H_
#define BLIMP_DAEMON_DAEMON_API_H_

#include <atomic>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "api/vm_api.h"
#include "daemon/supervisor.h"

namespace blimp::daemon {

struct WatchLimits {
  int per_vm = 8;   // Statistics streams open on one VM.
  int total = 256;  // ... and on all VMs together.
};

class DaemonApi final : public api::VmApi {
 public:
  DaemonApi(Supervisor& supervisor, WatchLimits limits = {})
      : supervisor_(supervisor), limits_(limits) {}

  absl::StatusOr<blimp::v1::Vm> CreateVm(const std::string& vm_id,
                                         const blimp::v1::VmConfig& config) override;
  absl::Status PutBootSource(const std::string& vm_id,
                             const blimp::v1::BootSource& boot_source) override;
  absl::Status PutMachineConfig(const std::string& vm_id,
                                const blimp::v1::MachineConfig& machine) override;
  absl::StatusOr<blimp::v1::Vm> StartVm(const std::string& vm_id) override;
  absl::StatusOr<blimp::v1::Vm> StopVm(const std::string& vm_id) override;
  absl::Status DeleteVm(const std::string& vm_id) override;
  absl::StatusOr<blimp::v1::Vm> GetVm(const std::string& vm_id) override;
  std::vector<blimp::v1::Vm> ListVms() override;
  std::vector<api::VmMetrics> CollectMetrics() override;
  absl::Status PutBalloon(const std::string& vm_id, const blimp::v1::Balloon& balloon) override;
  absl::StatusOr<blimp::v1::Balloon> GetBalloon(const std::string& vm_id) override;
  absl::Status PatchBalloon(const std::string& vm_id,
                            const blimp::v1::BalloonUpdate& update) override;
  absl::StatusOr<blimp::v1::BalloonStats> GetBalloonStatistics(const std::string& vm_id) override;
  absl::Status PatchBalloonStatistics(const std::string& vm_id,
                                      const blimp::v1::BalloonStatsUpdate& update) override;
  absl::Status StartBalloonHinting(const std::string& vm_id,
                                   const blimp::v1::HintingStart& start) override;
  absl::StatusOr<blimp::v1::HintingStatus> GetBalloonHintingStatus(
      const std::string& vm_id) override;
  absl::Status StopBalloonHinting(const std::string& vm_id) override;
  absl::StatusOr<blimp::v1::BalloonMetrics> GetBalloonMetrics(const std::string& vm_id) override;

  // A statistics stream from the VM (read it with VmmClient::ReadWatch), and
  // its slot, freed when the returned Watch is destroyed. RESOURCE_EXHAUSTED
  // past the limits.
  class Watch {
   public:
    Watch(Watch&& other) noexcept
        : api_(std::exchange(other.api_, nullptr)),
          vm_(std::move(other.vm_)),
          fd_(std::move(other.fd_)) {}
    ~Watch();
    int fd() const { return fd_.get(); }

   private:
    friend class DaemonApi;
    Watch(DaemonApi* api, std::shared_ptr<VmInstance> vm, base::UniqueFd fd)
        : api_(api), vm_(std::move(vm)), fd_(std::move(fd)) {}
    DaemonApi* api_;
    std::shared_ptr<VmInstance> vm_;
    base::UniqueFd fd_;
  };
  absl::StatusOr<Watch> WatchStatistics(const std::string& vm_id);
  int open_watches() { return watches_total_.load(); }

 private:
  void ReleaseWatch(const std::string& vm_id);

  Supervisor& supervisor_;
  const WatchLimits limits_;
  std::atomic<int> watches_total_{0};
  absl::Mutex mu_;
  std::map<std::string, int> watches_per_vm_ ABSL_GUARDED_BY(mu_);
};

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_DAEMON_API_H_

// DaemonApi: blimpd's one implementation of the public API (api::VmApi) over
// the Supervisor. Stateless rules are checked here, at the edge, before any
// process hop; each VM call is then one control-protocol request to that
// VM's blimp-vmm, bounded by the daemon's timeouts. The gRPC services and
// the REST gateways are thin translations of it. Statistics streams share
// one VMM watch per VM (StatsFanout). Thread-safe.
#ifndef BLIMP_DAEMON_DAEMON_API_H_
#define BLIMP_DAEMON_DAEMON_API_H_

#include <memory>
#include <string>
#include <vector>

#include "api/vm_api.h"
#include "daemon/stats_fanout.h"
#include "daemon/supervisor.h"

namespace blimp::daemon {

class DaemonApi final : public api::VmApi {
 public:
  // Starts the statistics fan-out's loop thread.
  DaemonApi(Supervisor& supervisor, WatchLimits limits = {});

  absl::StatusOr<blimp::v1::Vm> CreateVm(const std::string& vm_id,
                                         const blimp::v1::VmConfig& config) override;
  absl::Status PutBootSource(const std::string& vm_id,
                             const blimp::v1::BootSource& boot_source) override;
  absl::Status PutMachineConfig(const std::string& vm_id,
                                const blimp::v1::MachineConfig& machine) override;
  absl::StatusOr<blimp::v1::Vm> StartVm(const std::string& vm_id) override;
  absl::StatusOr<blimp::v1::Vm> StopVm(const std::string& vm_id) override;
  absl::StatusOr<blimp::v1::Vm> PauseVm(const std::string& vm_id) override;
  absl::StatusOr<blimp::v1::Vm> ResumeVm(const std::string& vm_id) override;
  absl::StatusOr<blimp::v1::SnapshotInfo> CreateSnapshot(
      const std::string& vm_id, const blimp::v1::SnapshotCreateParams& params) override;
  absl::StatusOr<blimp::v1::Vm> LoadSnapshot(
      const std::string& vm_id, const blimp::v1::SnapshotLoadParams& params) override;
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

  // Subscribes to a running VM's statistics through the fan-out (one VMM
  // watch per VM, however many streams): `notify` says an update or the end
  // is waiting in the handle. RESOURCE_EXHAUSTED past the watch limits.
  absl::StatusOr<StatsFanout::Handle> WatchStatistics(const std::string& vm_id,
                                                      StatsFanout::Notify notify);
  StatsFanout& stats_fanout() { return *stats_fanout_; }

 private:
  Supervisor& supervisor_;
  std::unique_ptr<StatsFanout> stats_fanout_;
};

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_DAEMON_API_H_

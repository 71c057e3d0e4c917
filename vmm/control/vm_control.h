// VmControl: one VM's public calls as control-protocol requests over a
// transport: the VMM's own ControlHandler (REST on --api-sock) or blimpd's
// VmmClient (every VM of the daemon). Payloads pass unchanged; errors are
// the Response's status.
#ifndef BLIMP_VMM_CONTROL_VM_CONTROL_H_
#define BLIMP_VMM_CONTROL_VM_CONTROL_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "proto/blimp/v1/vm_service.pb.h"
#include "vmm/control/control.pb.h"

namespace blimp::vmm::control {

// The public Vm message for VM `vm_id` in `status`.
blimp::v1::Vm ToVm(const std::string& vm_id, const VmStatus& status);

class VmControl {
 public:
  // Sends one request, returns its answer or its error.
  using Transport = std::function<absl::StatusOr<Response>(const Request&)>;

  explicit VmControl(Transport transport) : transport_(std::move(transport)) {}

  absl::StatusOr<VmStatus> Describe();
  absl::Status PutBootSource(const blimp::v1::BootSource& boot_source);
  absl::Status PutMachineConfig(const blimp::v1::MachineConfig& machine);
  absl::StatusOr<VmStatus> Start();
  absl::StatusOr<VmStatus> Stop();
  absl::StatusOr<VmStatus> Pause();
  absl::StatusOr<VmStatus> Resume();
  absl::StatusOr<blimp::v1::SnapshotInfo> CreateSnapshot(
      const blimp::v1::SnapshotCreateParams& params);
  absl::StatusOr<VmStatus> LoadSnapshot(const blimp::v1::SnapshotLoadParams& params);
  absl::Status PutBalloon(const blimp::v1::Balloon& balloon);
  absl::StatusOr<blimp::v1::Balloon> GetBalloon();
  absl::Status PatchBalloon(const blimp::v1::BalloonUpdate& update);
  absl::StatusOr<blimp::v1::BalloonStats> GetStatistics();
  absl::Status PatchStatistics(const blimp::v1::BalloonStatsUpdate& update);
  absl::Status StartHinting(const blimp::v1::HintingStart& start);
  absl::StatusOr<blimp::v1::HintingStatus> GetHintingStatus();
  absl::Status StopHinting();
  absl::StatusOr<blimp::v1::BalloonMetrics> GetMetrics();

 private:
  const Transport transport_;
};

}  // namespace blimp::vmm::control

#endif  // BLIMP_VMM_CONTROL_VM_CONTROL_H_

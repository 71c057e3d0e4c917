// SingleVmApi: blimp-vmm's own VM as an api::VmApi, for the REST gateway on
// --api-sock (Firecracker's paths). Calls go to the ControlHandler in
// process, the same code blimpd reaches over the control socket; only this
// VM's id is known, and creating or deleting VMs is blimpd's job.
#ifndef BLIMP_VMM_SINGLE_VM_API_H_
#define BLIMP_VMM_SINGLE_VM_API_H_

#include <string>
#include <vector>

#include "api/vm_api.h"
#include "vmm/control/control_handler.h"
#include "vmm/control/vm_control.h"

namespace blimp::vmm {

class SingleVmApi final : public api::VmApi {
 public:
  SingleVmApi(std::string vm_id, control::ControlHandler& handler);

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

 private:
  // NotFound unless `vm_id` is this VM's.
  absl::Status Check(const std::string& vm_id) const;

  const std::string vm_id_;
  control::VmControl control_;
};

}  // namespace blimp::vmm

#endif  // BLIMP_VMM_SINGLE_VM_API_H_

// Test doubles for the REST gateway: VMs without KVM behind api::VmApi.
// FakeVmHost is one VM as blimp-vmm runs it (a real VmController and
// ControlHandler, a FakeRunningVm instead of KVM, served as SingleVmApi);
// FakeDaemonApi is a small stand-in for blimpd routing by VM id to such hosts.
#ifndef BLIMP_GATEWAY_TESTING_FAKE_VMS_H_
#define BLIMP_GATEWAY_TESTING_FAKE_VMS_H_

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "api/vm_api.h"
#include "vmm/control/control_handler.h"
#include "vmm/single_vm_api.h"
#include "vmm/testing/fake_running_vm.h"
#include "vmm/vm_controller.h"

namespace blimp::gateway::testing {

// A VM ("vm0" unless named) of `mem_mib` with a kernel set, optionally a
// balloon; `fake` is its VM once started.
struct FakeVmHost {
  FakeVmHost(std::string id, uint32_t mem_mib, std::optional<vmm::BalloonConfig> balloon);

  std::unique_ptr<vmm::VmController> controller;
  vmm::testing::FakeRunningVm* fake = nullptr;  // Owned by the controller once started.
  std::unique_ptr<vmm::control::ControlHandler> handler;
  std::unique_ptr<vmm::SingleVmApi> api;
};

// A fake blimpd: CreateVm makes a FakeVmHost, every other call goes to the
// named VM's SingleVmApi; unknown ids are NotFound. `calls` counts calls.
class FakeDaemonApi final : public api::VmApi {
 public:
  FakeVmHost* Find(const std::string& id);
  std::atomic<int> calls{0};

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
  // The VM's API, or NotFound (counts the call).
  absl::StatusOr<vmm::SingleVmApi*> Vm(const std::string& vm_id);

  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<FakeVmHost>> vms_ ABSL_GUARDED_BY(mu_);
};

}  // namespace blimp::gateway::testing

#endif  // BLIMP_GATEWAY_TESTING_FAKE_VMS_H_

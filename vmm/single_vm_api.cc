#include "vmm/single_vm_api.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "vmm/control/response_status.h"

namespace blimp::vmm {

SingleVmApi::SingleVmApi(std::string vm_id, control::ControlHandler& handler)
    : vm_id_(std::move(vm_id)),
      control_([&handler](const control::Request& request)
                   -> absl::StatusOr<control::Response> {
        control::Response response = handler.Handle(request);
        RETURN_IF_ERROR(control::ResponseStatus(response));
        return response;
      }) {}

absl::Status SingleVmApi::Check(const std::string& vm_id) const {
  if (vm_id == vm_id_) return absl::OkStatus();
  return absl::NotFoundError(
      absl::StrCat("no such VM '", vm_id, "' (this blimp-vmm runs '", vm_id_, "')"));
}

absl::StatusOr<blimp::v1::Vm> SingleVmApi::CreateVm(const std::string&,
                                                    const blimp::v1::VmConfig&) {
  return absl::UnimplementedError("blimp-vmm runs exactly one VM; create VMs through blimpd");
}

absl::Status SingleVmApi::PutBootSource(const std::string& vm_id,
                                        const blimp::v1::BootSource& boot_source) {
  RETURN_IF_ERROR(Check(vm_id));
  return control_.PutBootSource(boot_source);
}

absl::Status SingleVmApi::PutMachineConfig(const std::string& vm_id,
                                           const blimp::v1::MachineConfig& machine) {
  RETURN_IF_ERROR(Check(vm_id));
  return control_.PutMachineConfig(machine);
}

absl::StatusOr<blimp::v1::Vm> SingleVmApi::StartVm(const std::string& vm_id) {
  RETURN_IF_ERROR(Check(vm_id));
  ASSIGN_OR_RETURN(control::VmStatus status, control_.Start());
  return control::ToVm(vm_id_, status);
}

absl::StatusOr<blimp::v1::Vm> SingleVmApi::StopVm(const std::string& vm_id) {
  RETURN_IF_ERROR(Check(vm_id));
  ASSIGN_OR_RETURN(control::VmStatus status, control_.Stop());
  return control::ToVm(vm_id_, status);
}

absl::StatusOr<blimp::v1::Vm> SingleVmApi::PauseVm(const std::string& vm_id) {
  RETURN_IF_ERROR(Check(vm_id));
  ASSIGN_OR_RETURN(control::VmStatus status, control_.Pause());
  return control::ToVm(vm_id_, status);
}

absl::StatusOr<blimp::v1::Vm> SingleVmApi::ResumeVm(const std::string& vm_id) {
  RETURN_IF_ERROR(Check(vm_id));
  ASSIGN_OR_RETURN(control::VmStatus status, control_.Resume());
  return control::ToVm(vm_id_, status);
}

absl::StatusOr<blimp::v1::SnapshotInfo> SingleVmApi::CreateSnapshot(
    const std::string& vm_id, const blimp::v1::SnapshotCreateParams& params) {
  RETURN_IF_ERROR(Check(vm_id));
  return control_.CreateSnapshot(params);
}

absl::StatusOr<blimp::v1::Vm> SingleVmApi::LoadSnapshot(
    const std::string& vm_id, const blimp::v1::SnapshotLoadParams& params) {
  RETURN_IF_ERROR(Check(vm_id));
  ASSIGN_OR_RETURN(control::VmStatus status, control_.LoadSnapshot(params));
  return control::ToVm(vm_id_, status);
}

absl::Status SingleVmApi::DeleteVm(const std::string&) {
  return absl::UnimplementedError("blimp-vmm runs exactly one VM; delete VMs through blimpd");
}

absl::StatusOr<blimp::v1::Vm> SingleVmApi::GetVm(const std::string& vm_id) {
  RETURN_IF_ERROR(Check(vm_id));
  ASSIGN_OR_RETURN(control::VmStatus status, control_.Describe());
  return control::ToVm(vm_id_, status);
}

std::vector<blimp::v1::Vm> SingleVmApi::ListVms() {
  absl::StatusOr<blimp::v1::Vm> vm = GetVm(vm_id_);
  if (!vm.ok()) return {};
  return {*std::move(vm)};
}

std::vector<api::VmMetrics> SingleVmApi::CollectMetrics() {
  std::vector<api::VmMetrics> all;
  for (blimp::v1::Vm& vm : ListVms()) {
    api::VmMetrics metrics{std::move(vm), std::nullopt};
    if (auto balloon = control_.GetMetrics(); balloon.ok()) metrics.balloon = *balloon;
    all.push_back(std::move(metrics));
  }
  return all;
}

absl::Status SingleVmApi::PutBalloon(const std::string& vm_id,
                                     const blimp::v1::Balloon& balloon) {
  RETURN_IF_ERROR(Check(vm_id));
  return control_.PutBalloon(balloon);
}

absl::StatusOr<blimp::v1::Balloon> SingleVmApi::GetBalloon(const std::string& vm_id) {
  RETURN_IF_ERROR(Check(vm_id));
  return control_.GetBalloon();
}

absl::Status SingleVmApi::PatchBalloon(const std::string& vm_id,
                                       const blimp::v1::BalloonUpdate& update) {
  RETURN_IF_ERROR(Check(vm_id));
  return control_.PatchBalloon(update);
}

absl::StatusOr<blimp::v1::BalloonStats> SingleVmApi::GetBalloonStatistics(
    const std::string& vm_id) {
  RETURN_IF_ERROR(Check(vm_id));
  return control_.GetStatistics();
}

absl::Status SingleVmApi::PatchBalloonStatistics(const std::string& vm_id,
                                                 const blimp::v1::BalloonStatsUpdate& update) {
  RETURN_IF_ERROR(Check(vm_id));
  return control_.PatchStatistics(update);
}

absl::Status SingleVmApi::StartBalloonHinting(const std::string& vm_id,
                                              const blimp::v1::HintingStart& start) {
  RETURN_IF_ERROR(Check(vm_id));
  return control_.StartHinting(start);
}

absl::StatusOr<blimp::v1::HintingStatus> SingleVmApi::GetBalloonHintingStatus(
    const std::string& vm_id) {
  RETURN_IF_ERROR(Check(vm_id));
  return control_.GetHintingStatus();
}

absl::Status SingleVmApi::StopBalloonHinting(const std::string& vm_id) {
  RETURN_IF_ERROR(Check(vm_id));
  return control_.StopHinting();
}

absl::StatusOr<blimp::v1::BalloonMetrics> SingleVmApi::GetBalloonMetrics(
    const std::string& vm_id) {
  RETURN_IF_ERROR(Check(vm_id));
  return control_.GetMetrics();
}

}  // namespace blimp::vmm

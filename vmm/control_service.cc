#include "vmm/control_service.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "api/validate.h"
#include "base/grpc_status.h"
#include "base/process_memory.h"
#include "base/status_macros.h"
#include "vmm/config_file.h"

namespace blimp::vmm {
namespace {

using base::ToGrpcStatus;
using device::virtio::balloon::kPagesPerMib;

absl::Status CheckVmId(const VmController& controller, const std::string& vm_id) {
  if (vm_id != controller.id()) {
    return absl::NotFoundError(absl::StrCat("no VM '", vm_id, "' here (this is '",
                                            controller.id(), "')"));
  }
  return absl::OkStatus();
}

blimp::v1::VmState ToProtoState(const VmInfo& info) {
  switch (info.phase) {
    case VmPhase::kNotStarted: return blimp::v1::VM_STATE_CREATED;
    case VmPhase::kRunning: return blimp::v1::VM_STATE_RUNNING;
    case VmPhase::kStopped:
      return info.exit_reason && ExitCode(*info.exit_reason) != 0 ? blimp::v1::VM_STATE_FAILED
                                                                   : blimp::v1::VM_STATE_STOPPED;
  }
  return blimp::v1::VM_STATE_UNSPECIFIED;
}

}  // namespace

blimp::v1::Vm DescribeVm(VmController& controller) {
  VmInfo info = controller.Info();
  blimp::v1::Vm vm;
  vm.set_vm_id(info.id);
  vm.set_state(ToProtoState(info));
  blimp::v1::VmConfig* config = vm.mutable_config();
  if (info.config.boot_source) *config->mutable_boot_source() = ToProto(*info.config.boot_source);
  *config->mutable_machine_config() = ToProto(info.config.machine);
  if (info.config.balloon) *config->mutable_balloon() = ToProto(*info.config.balloon);
  if (info.exit_reason) vm.set_reason(ExitReasonName(*info.exit_reason));
  if (info.phase == VmPhase::kRunning) {
    vm.set_vmm_pid(::getpid());
    vm.set_vmm_rss_bytes(base::ResidentBytes(::getpid()).value_or(0));
    if (auto snapshot = controller.GetBalloonMetrics(); snapshot.ok()) {
      vm.set_balloon_target_mib(snapshot->target_pages / kPagesPerMib);
      vm.set_balloon_actual_mib(snapshot->actual_pages / kPagesPerMib);
    }
  } else if (info.config.balloon) {
    vm.set_balloon_target_mib(info.config.balloon->amount_mib);
  }
  return vm;
}

blimp::v1::BalloonStats StatsToProto(const BalloonSnapshot& snapshot) {
  blimp::v1::BalloonStats stats;
  stats.set_target_pages(snapshot.target_pages);
  stats.set_actual_pages(snapshot.actual_pages);
  stats.set_target_mib(snapshot.target_pages / kPagesPerMib);
  stats.set_actual_mib(snapshot.actual_pages / kPagesPerMib);
  // Tag t is field t + 5 (config.proto keeps the virtio tag order).
  const auto* descriptor = stats.GetDescriptor();
  const auto* reflection = stats.GetReflection();
  for (size_t tag = 0; tag < snapshot.stats.size(); ++tag) {
    if (!snapshot.stats[tag]) continue;
    reflection->SetUInt64(&stats, descriptor->FindFieldByNumber(static_cast<int>(tag) + 5),
                          *snapshot.stats[tag]);
  }
  return stats;
}

blimp::v1::BalloonMetrics MetricsToProto(const BalloonSnapshot& snapshot) {
  const auto& m = snapshot.metrics;
  blimp::v1::BalloonMetrics metrics;
  metrics.set_inflate_count(m.inflate_count);
  metrics.set_deflate_count(m.deflate_count);
  metrics.set_stats_updates_count(m.stats_updates_count);
  metrics.set_stats_update_fails(m.stats_update_fails);
  metrics.set_free_page_report_count(m.free_page_report_count);
  metrics.set_free_page_report_freed(m.free_page_report_freed);
  metrics.set_free_page_report_skipped(m.free_page_report_skipped);
  metrics.set_event_fails(m.event_fails);
  metrics.set_discarded_bytes(m.discarded_bytes);
  metrics.set_free_page_hint_count(m.free_page_hint_count);
  metrics.set_free_page_hint_freed(m.free_page_hint_freed);
  metrics.set_invalid_pfns(m.invalid_pfns);
  metrics.set_spurious_notifications(m.spurious_notifications);
  metrics.set_transport_errors(m.transport_errors);
  return metrics;
}

grpc::Status BalloonControlService::PutBalloon(grpc::ServerContext*,
                                               const blimp::v1::PutBalloonRequest* request,
                                               google::protobuf::Empty*) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckVmId(controller_, request->vm_id()));
    ASSIGN_OR_RETURN(BalloonConfig balloon, FromProto(request->balloon()));
    return controller_.PutBalloon(balloon);
  }());
}

grpc::Status BalloonControlService::GetBalloon(grpc::ServerContext*,
                                               const blimp::v1::GetBalloonRequest* request,
                                               blimp::v1::Balloon* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckVmId(controller_, request->vm_id()));
    ASSIGN_OR_RETURN(BalloonConfig balloon, controller_.GetBalloon());
    *response = ToProto(balloon);
    return absl::OkStatus();
  }());
}

grpc::Status BalloonControlService::PatchBalloon(grpc::ServerContext*,
                                                 const blimp::v1::PatchBalloonRequest* request,
                                                 google::protobuf::Empty*) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckVmId(controller_, request->vm_id()));
    RETURN_IF_ERROR(api::ValidateBalloonUpdate(request->update()));
    return controller_.PatchBalloon(request->update().amount_mib());
  }());
}

grpc::Status BalloonControlService::GetBalloonStatistics(
    grpc::ServerContext*, const blimp::v1::GetBalloonStatisticsRequest* request,
    blimp::v1::BalloonStats* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckVmId(controller_, request->vm_id()));
    ASSIGN_OR_RETURN(BalloonSnapshot snapshot, controller_.GetBalloonStatistics());
    *response = StatsToProto(snapshot);
    return absl::OkStatus();
  }());
}

grpc::Status BalloonControlService::PatchBalloonStatistics(
    grpc::ServerContext*, const blimp::v1::PatchBalloonStatisticsRequest* request,
    google::protobuf::Empty*) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckVmId(controller_, request->vm_id()));
    RETURN_IF_ERROR(api::ValidateBalloonStatsUpdate(request->update()));
    return controller_.PatchBalloonStatistics(request->update().stats_polling_interval_s());
  }());
}

grpc::Status BalloonControlService::StartBalloonHinting(
    grpc::ServerContext*, const blimp::v1::StartBalloonHintingRequest* request,
    google::protobuf::Empty*) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckVmId(controller_, request->vm_id()));
    const auto& start = request->start();
    return controller_.StartHinting(!start.has_acknowledge_on_stop() ||
                                    start.acknowledge_on_stop());
  }());
}

grpc::Status BalloonControlService::GetBalloonHintingStatus(
    grpc::ServerContext*, const blimp::v1::GetBalloonHintingStatusRequest* request,
    blimp::v1::HintingStatus* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckVmId(controller_, request->vm_id()));
    ASSIGN_OR_RETURN(device::virtio::balloon::HintingState state,
                     controller_.GetHintingStatus());
    response->set_host_cmd(state.host_cmd);
    if (state.guest_cmd) response->set_guest_cmd(*state.guest_cmd);
    return absl::OkStatus();
  }());
}

grpc::Status BalloonControlService::StopBalloonHinting(
    grpc::ServerContext*, const blimp::v1::StopBalloonHintingRequest* request,
    google::protobuf::Empty*) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckVmId(controller_, request->vm_id()));
    return controller_.StopHinting();
  }());
}

grpc::Status BalloonControlService::WatchBalloonStatistics(
    grpc::ServerContext* context, const blimp::v1::WatchBalloonStatisticsRequest* request,
    grpc::ServerWriter<blimp::v1::BalloonStats>* writer) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckVmId(controller_, request->vm_id()));
    ASSIGN_OR_RETURN(RunningVm * vm, controller_.StatsSource());
    BalloonSnapshot snapshot = vm->GetBalloon();
    uint64_t seen = snapshot.stats_generation;
    if (!writer->Write(StatsToProto(snapshot))) return absl::OkStatus();
    // One update per guest refresh, until the client leaves or the VM stops.
    while (!context->IsCancelled()) {
      uint64_t now = vm->WaitForStats(seen, absl::Milliseconds(500));
      if (vm->exit_reason()) return absl::UnavailableError("the VM stopped");
      if (now == seen) continue;
      seen = now;
      if (!writer->Write(StatsToProto(vm->GetBalloon()))) break;
    }
    return absl::OkStatus();
  }());
}

grpc::Status BalloonControlService::GetBalloonMetrics(
    grpc::ServerContext*, const blimp::v1::GetBalloonMetricsRequest* request,
    blimp::v1::BalloonMetrics* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckVmId(controller_, request->vm_id()));
    ASSIGN_OR_RETURN(BalloonSnapshot snapshot, controller_.GetBalloonMetrics());
    *response = MetricsToProto(snapshot);
    return absl::OkStatus();
  }());
}

grpc::Status VmControlService::CreateVm(grpc::ServerContext*,
                                        const blimp::v1::CreateVmRequest*, blimp::v1::Vm*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      "blimp-vmm runs exactly one VM; create VMs through blimpd");
}

grpc::Status VmControlService::PutBootSource(grpc::ServerContext*,
                                             const blimp::v1::PutBootSourceRequest* request,
                                             google::protobuf::Empty*) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckVmId(controller_, request->vm_id()));
    ASSIGN_OR_RETURN(BootSourceConfig boot_source, FromProto(request->boot_source()));
    return controller_.PutBootSource(boot_source);
  }());
}

grpc::Status VmControlService::PutMachineConfig(
    grpc::ServerContext*, const blimp::v1::PutMachineConfigRequest* request,
    google::protobuf::Empty*) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckVmId(controller_, request->vm_id()));
    ASSIGN_OR_RETURN(MachineConfig machine, FromProto(request->machine_config()));
    return controller_.PutMachineConfig(machine);
  }());
}

grpc::Status VmControlService::StartVm(grpc::ServerContext*,
                                       const blimp::v1::StartVmRequest* request,
                                       blimp::v1::Vm* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckVmId(controller_, request->vm_id()));
    RETURN_IF_ERROR(controller_.Start());
    *response = DescribeVm(controller_);
    return absl::OkStatus();
  }());
}

grpc::Status VmControlService::StopVm(grpc::ServerContext*,
                                      const blimp::v1::StopVmRequest* request,
                                      blimp::v1::Vm* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckVmId(controller_, request->vm_id()));
    RETURN_IF_ERROR(controller_.Stop());
    *response = DescribeVm(controller_);
    return absl::OkStatus();
  }());
}

grpc::Status VmControlService::DeleteVm(grpc::ServerContext*,
                                        const blimp::v1::DeleteVmRequest*,
                                        google::protobuf::Empty*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      "blimp-vmm runs exactly one VM; delete VMs through blimpd");
}

grpc::Status VmControlService::GetVm(grpc::ServerContext*,
                                     const blimp::v1::GetVmRequest* request,
                                     blimp::v1::Vm* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckVmId(controller_, request->vm_id()));
    *response = DescribeVm(controller_);
    return absl::OkStatus();
  }());
}

grpc::Status VmControlService::ListVms(grpc::ServerContext*, const blimp::v1::ListVmsRequest*,
                                       blimp::v1::ListVmsResponse* response) {
  *response->add_vms() = DescribeVm(controller_);
  return grpc::Status::OK;
}

}  // namespace blimp::vmm

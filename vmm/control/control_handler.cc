#include "vmm/control/control_handler.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "api/snapshot_params.h"
#include "base/status_macros.h"
#include "device/virtio/balloon/balloon_defs.h"
#include "vmm/config_file.h"
#include "vmm/control/response_status.h"

namespace blimp::vmm::control {
namespace {

using device::virtio::balloon::kPagesPerMib;

VmStatus::Phase ToPhase(const VmInfo& info) {
  switch (info.phase) {
    case VmPhase::kNotStarted: return VmStatus::NOT_STARTED;
    case VmPhase::kRunning: return VmStatus::RUNNING;
    case VmPhase::kPaused: return VmStatus::PAUSED;
    case VmPhase::kStopped:
      return info.exit_reason && ExitCode(*info.exit_reason) != 0 ? VmStatus::FAILED
                                                                   : VmStatus::STOPPED;
  }
  return VmStatus::FAILED;
}

absl::StatusOr<SnapshotPaths> CreatePaths(const blimp::v1::SnapshotCreateParams& params) {
  ASSIGN_OR_RETURN(api::SnapshotFiles files, api::SnapshotCreateFiles(params));
  return SnapshotPaths{files.state_path, files.memory_path};
}

absl::StatusOr<SnapshotPaths> LoadPaths(const blimp::v1::SnapshotLoadParams& params) {
  ASSIGN_OR_RETURN(api::SnapshotFiles files, api::SnapshotLoadFiles(params));
  return SnapshotPaths{files.state_path, files.memory_path};
}

}  // namespace

VmStatus DescribeVm(VmController& controller, const ConsoleCounters* console) {
  VmInfo info = controller.Info();
  VmStatus vm;
  vm.set_phase(ToPhase(info));
  blimp::v1::VmConfig* config = vm.mutable_config();
  if (info.config.boot_source) *config->mutable_boot_source() = ToProto(*info.config.boot_source);
  *config->mutable_machine_config() = ToProto(info.config.machine);
  if (info.config.balloon) *config->mutable_balloon() = ToProto(*info.config.balloon);
  if (info.exit_reason) vm.set_reason(ExitReasonName(*info.exit_reason));
  vm.set_pid(::getpid());
  if (info.phase == VmPhase::kRunning || info.phase == VmPhase::kPaused) {
    if (auto snapshot = controller.GetBalloonMetrics(); snapshot.ok()) {
      vm.set_balloon_target_mib(snapshot->target_pages / kPagesPerMib);
      vm.set_balloon_actual_mib(snapshot->actual_pages / kPagesPerMib);
      for (const auto& [address, size] : snapshot->guest_ram) {
        vmm::control::HostRange* range = vm.add_guest_ram();
        range->set_address(address);
        range->set_size(size);
      }
    }
  } else if (info.config.balloon) {
    vm.set_balloon_target_mib(info.config.balloon->amount_mib);
  }
  if (console != nullptr) {
    vm.set_console_log_bytes(console->bytes_logged.load());
    vm.set_console_log_rotations(console->rotations.load());
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
  metrics.set_stats_impossible(m.stats_impossible);
  return metrics;
}

Response ControlHandler::Handle(const Request& request) {
  Response response;
  response.set_id(request.id());
  absl::Status status = Dispatch(request, &response);
  if (!status.ok()) return ErrorResponse(request.id(), status);
  return response;
}

absl::Status ControlHandler::Dispatch(const Request& request, Response* response) {
  switch (request.op_case()) {
    case Request::kDescribe:
      *response->mutable_vm() = DescribeVm(controller_, console_);
      return absl::OkStatus();
    case Request::kPutBootSource: {
      ASSIGN_OR_RETURN(BootSourceConfig boot_source, FromProto(request.put_boot_source()));
      return controller_.PutBootSource(boot_source);
    }
    case Request::kPutMachineConfig: {
      ASSIGN_OR_RETURN(MachineConfig machine, FromProto(request.put_machine_config()));
      return controller_.PutMachineConfig(machine);
    }
    case Request::kStart:
      RETURN_IF_ERROR(controller_.Start());
      *response->mutable_vm() = DescribeVm(controller_, console_);
      return absl::OkStatus();
    case Request::kStop:
      RETURN_IF_ERROR(controller_.Stop());
      *response->mutable_vm() = DescribeVm(controller_, console_);
      return absl::OkStatus();
    case Request::kPause:
      RETURN_IF_ERROR(controller_.Pause());
      *response->mutable_vm() = DescribeVm(controller_, console_);
      return absl::OkStatus();
    case Request::kResume:
      RETURN_IF_ERROR(controller_.Resume());
      *response->mutable_vm() = DescribeVm(controller_, console_);
      return absl::OkStatus();
    case Request::kCreateSnapshot: {
      ASSIGN_OR_RETURN(SnapshotPaths paths, CreatePaths(request.create_snapshot()));
      ASSIGN_OR_RETURN(SnapshotResult result, controller_.CreateSnapshot(paths));
      response->mutable_snapshot()->set_memory_bytes(result.memory_bytes);
      response->mutable_snapshot()->set_memory_written_bytes(result.memory_written_bytes);
      return absl::OkStatus();
    }
    case Request::kLoadSnapshot: {
      ASSIGN_OR_RETURN(SnapshotPaths paths, LoadPaths(request.load_snapshot()));
      RETURN_IF_ERROR(controller_.LoadSnapshot(paths, request.load_snapshot().resume_vm()));
      *response->mutable_vm() = DescribeVm(controller_, console_);
      return absl::OkStatus();
    }
    case Request::kPutBalloon: {
      ASSIGN_OR_RETURN(BalloonConfig balloon, FromProto(request.put_balloon()));
      return controller_.PutBalloon(balloon);
    }
    case Request::kGetBalloon: {
      ASSIGN_OR_RETURN(BalloonConfig balloon, controller_.GetBalloon());
      *response->mutable_balloon() = ToProto(balloon);
      return absl::OkStatus();
    }
    case Request::kPatchBalloon:
      if (!request.patch_balloon().has_amount_mib()) {
        return absl::InvalidArgumentError("amount_mib is required");
      }
      return controller_.PatchBalloon(request.patch_balloon().amount_mib());
    case Request::kGetStatistics: {
      ASSIGN_OR_RETURN(BalloonSnapshot snapshot, controller_.GetBalloonStatistics());
      *response->mutable_stats() = StatsToProto(snapshot);
      return absl::OkStatus();
    }
    case Request::kPatchStatistics:
      if (!request.patch_statistics().has_stats_polling_interval_s()) {
        return absl::InvalidArgumentError("stats_polling_interval_s is required");
      }
      return controller_.PatchBalloonStatistics(
          request.patch_statistics().stats_polling_interval_s());
    case Request::kStartHinting: {
      const blimp::v1::HintingStart& start = request.start_hinting();
      return controller_.StartHinting(!start.has_acknowledge_on_stop() ||
                                      start.acknowledge_on_stop());
    }
    case Request::kGetHintingStatus: {
      ASSIGN_OR_RETURN(device::virtio::balloon::HintingState state,
                       controller_.GetHintingStatus());
      response->mutable_hinting()->set_host_cmd(state.host_cmd);
      if (state.guest_cmd) response->mutable_hinting()->set_guest_cmd(*state.guest_cmd);
      return absl::OkStatus();
    }
    case Request::kStopHinting:
      return controller_.StopHinting();
    case Request::kGetMetrics: {
      ASSIGN_OR_RETURN(BalloonSnapshot snapshot, controller_.GetBalloonMetrics());
      *response->mutable_metrics() = MetricsToProto(snapshot);
      return absl::OkStatus();
    }
    case Request::kWatchStatistics:
      return absl::InvalidArgumentError("watch_statistics is served by the control server");
    case Request::OP_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("control request ", request.id(), " names no operation"));
}

}  // namespace blimp::vmm::control

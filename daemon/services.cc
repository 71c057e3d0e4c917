#include "daemon/services.h"

#include "base/grpc_status.h"
#include "daemon/stats_stream.h"

namespace blimp::daemon {
namespace {

using base::ToGrpcStatus;
namespace v1 = blimp::v1;

// A call's result into `response`, its error into a gRPC status.
template <typename T>
grpc::Status Answer(absl::StatusOr<T> result, T* response) {
  if (result.ok()) *response = *std::move(result);
  return ToGrpcStatus(result.status());
}

}  // namespace

grpc::Status DaemonVmService::CreateVm(grpc::ServerContext*, const v1::CreateVmRequest* request,
                                       v1::Vm* response) {
  if (request->has_snapshot()) {
    if (request->has_config()) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          "give config or snapshot, not both (a snapshot carries its VM's config)"));
    }
    return Answer(api_.LoadSnapshot(request->vm_id(), request->snapshot()), response);
  }
  return Answer(api_.CreateVm(request->vm_id(), request->config()), response);
}

grpc::Status DaemonVmService::CreateSnapshot(grpc::ServerContext*,
                                             const v1::CreateSnapshotRequest* request,
                                             v1::SnapshotInfo* response) {
  return Answer(api_.CreateSnapshot(request->vm_id(), request->params()), response);
}

grpc::Status DaemonVmService::MigrateVm(grpc::ServerContext*, const v1::MigrateVmRequest* request,
                                        v1::MigrateVmResponse* response) {
  return Answer(migration_.MigrateOut(*request), response);
}

grpc::Status DaemonVmService::ReceiveVm(grpc::ServerContext* context,
                                        grpc::ServerReader<v1::MigrationChunk>* reader,
                                        v1::Vm* response) {
  return Answer(migration_.ReceiveVm(*context, *reader), response);
}

grpc::Status DaemonVmService::PutBootSource(grpc::ServerContext*,
                                            const v1::PutBootSourceRequest* request,
                                            google::protobuf::Empty*) {
  return ToGrpcStatus(api_.PutBootSource(request->vm_id(), request->boot_source()));
}

grpc::Status DaemonVmService::PutMachineConfig(grpc::ServerContext*,
                                               const v1::PutMachineConfigRequest* request,
                                               google::protobuf::Empty*) {
  return ToGrpcStatus(api_.PutMachineConfig(request->vm_id(), request->machine_config()));
}

grpc::Status DaemonVmService::StartVm(grpc::ServerContext*, const v1::StartVmRequest* request,
                                      v1::Vm* response) {
  return Answer(api_.StartVm(request->vm_id()), response);
}

grpc::Status DaemonVmService::StopVm(grpc::ServerContext*, const v1::StopVmRequest* request,
                                     v1::Vm* response) {
  return Answer(api_.StopVm(request->vm_id()), response);
}

grpc::Status DaemonVmService::PauseVm(grpc::ServerContext*, const v1::PauseVmRequest* request,
                                      v1::Vm* response) {
  return Answer(api_.PauseVm(request->vm_id()), response);
}

grpc::Status DaemonVmService::ResumeVm(grpc::ServerContext*, const v1::ResumeVmRequest* request,
                                       v1::Vm* response) {
  return Answer(api_.ResumeVm(request->vm_id()), response);
}

grpc::Status DaemonVmService::DeleteVm(grpc::ServerContext*, const v1::DeleteVmRequest* request,
                                       google::protobuf::Empty*) {
  return ToGrpcStatus(api_.DeleteVm(request->vm_id()));
}

grpc::Status DaemonVmService::GetVm(grpc::ServerContext*, const v1::GetVmRequest* request,
                                    v1::Vm* response) {
  return Answer(api_.GetVm(request->vm_id()), response);
}

grpc::Status DaemonVmService::ListVms(grpc::ServerContext*, const v1::ListVmsRequest*,
                                      v1::ListVmsResponse* response) {
  for (v1::Vm& vm : api_.ListVms()) *response->add_vms() = std::move(vm);
  return grpc::Status::OK;
}

grpc::Status DaemonVmService::WatchVmEvents(grpc::ServerContext* context,
                                            const v1::WatchVmEventsRequest* request,
                                            grpc::ServerWriter<v1::VmEvent>* writer) {
  if (!request->vm_id().empty()) {
    // NOT_FOUND / INVALID_ARGUMENT as every other call on a VM.
    if (absl::Status known = api_.GetVm(request->vm_id()).status(); !known.ok()) {
      return ToGrpcStatus(known);
    }
  }
  absl::StatusOr<std::unique_ptr<VmEvents::Subscription>> sub = events_.Subscribe(request->vm_id());
  if (!sub.ok()) return ToGrpcStatus(sub.status());
  // The headers now: the client knows the stream is open before any event.
  writer->SendInitialMetadata();
  while (!context->IsCancelled() && !(*sub)->closed()) {
    std::optional<v1::VmEvent> event = (*sub)->Next(absl::Milliseconds(200));
    if (event && !writer->Write(*event)) break;
  }
  if (context->IsCancelled()) return grpc::Status::CANCELLED;
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "blimpd is stopping");
}

grpc::Status DaemonBalloonService::PutBalloon(grpc::ServerContext*,
                                              const v1::PutBalloonRequest* request,
                                              google::protobuf::Empty*) {
  return ToGrpcStatus(api_.PutBalloon(request->vm_id(), request->balloon()));
}

grpc::Status DaemonBalloonService::GetBalloon(grpc::ServerContext*,
                                              const v1::GetBalloonRequest* request,
                                              v1::Balloon* response) {
  return Answer(api_.GetBalloon(request->vm_id()), response);
}

grpc::Status DaemonBalloonService::PatchBalloon(grpc::ServerContext*,
                                                const v1::PatchBalloonRequest* request,
                                                google::protobuf::Empty*) {
  return ToGrpcStatus(api_.PatchBalloon(request->vm_id(), request->update()));
}

grpc::Status DaemonBalloonService::GetBalloonStatistics(
    grpc::ServerContext*, const v1::GetBalloonStatisticsRequest* request,
    v1::BalloonStats* response) {
  return Answer(api_.GetBalloonStatistics(request->vm_id()), response);
}

grpc::Status DaemonBalloonService::PatchBalloonStatistics(
    grpc::ServerContext*, const v1::PatchBalloonStatisticsRequest* request,
    google::protobuf::Empty*) {
  return ToGrpcStatus(api_.PatchBalloonStatistics(request->vm_id(), request->update()));
}

grpc::Status DaemonBalloonService::StartBalloonHinting(
    grpc::ServerContext*, const v1::StartBalloonHintingRequest* request,
    google::protobuf::Empty*) {
  return ToGrpcStatus(api_.StartBalloonHinting(request->vm_id(), request->start()));
}

grpc::Status DaemonBalloonService::GetBalloonHintingStatus(
    grpc::ServerContext*, const v1::GetBalloonHintingStatusRequest* request,
    v1::HintingStatus* response) {
  return Answer(api_.GetBalloonHintingStatus(request->vm_id()), response);
}

grpc::Status DaemonBalloonService::StopBalloonHinting(
    grpc::ServerContext*, const v1::StopBalloonHintingRequest* request,
    google::protobuf::Empty*) {
  return ToGrpcStatus(api_.StopBalloonHinting(request->vm_id()));
}

grpc::Status DaemonBalloonService::GetBalloonMetrics(grpc::ServerContext*,
                                                     const v1::GetBalloonMetricsRequest* request,
                                                     v1::BalloonMetrics* response) {
  return Answer(api_.GetBalloonMetrics(request->vm_id()), response);
}

grpc::ServerWriteReactor<v1::BalloonStats>* DaemonBalloonService::WatchBalloonStatistics(
    grpc::CallbackServerContext*, const v1::WatchBalloonStatisticsRequest* request) {
  return new StatsStream([this, vm_id = request->vm_id()](StatsFanout::Notify notify) {
    return api_.WatchStatistics(vm_id, std::move(notify));
  });
}

}  // namespace blimp::daemon

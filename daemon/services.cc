#include "daemon/services.h"

#include <chrono>
#include <thread>

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "base/grpc_status.h"

namespace blimp::daemon {
namespace {

using base::ToGrpcStatus;
namespace v1 = blimp::v1;

// A child call context that inherits the caller's deadline and cancellation,
// with at most `timeout` (none for streams when `timeout` is infinite).
std::unique_ptr<grpc::ClientContext> ChildContext(grpc::ServerContext* server_context,
                                                  absl::Duration timeout) {
  std::unique_ptr<grpc::ClientContext> context =
      grpc::ClientContext::FromServerContext(*server_context);
  if (timeout != absl::InfiniteDuration()) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  return context;
}

}  // namespace

grpc::Status DaemonVmService::CreateVm(grpc::ServerContext*, const v1::CreateVmRequest* request,
                                       v1::Vm* response) {
  absl::StatusOr<v1::Vm> vm = supervisor_.CreateVm(request->vm_id(), request->config());
  if (vm.ok()) *response = *std::move(vm);
  return ToGrpcStatus(vm.status());
}

grpc::Status DaemonVmService::PutBootSource(grpc::ServerContext*,
                                            const v1::PutBootSourceRequest* request,
                                            google::protobuf::Empty*) {
  return ToGrpcStatus(supervisor_.PutBootSource(request->vm_id(), request->boot_source()));
}

grpc::Status DaemonVmService::PutMachineConfig(grpc::ServerContext*,
                                               const v1::PutMachineConfigRequest* request,
                                               google::protobuf::Empty*) {
  return ToGrpcStatus(
      supervisor_.PutMachineConfig(request->vm_id(), request->machine_config()));
}

grpc::Status DaemonVmService::StartVm(grpc::ServerContext*, const v1::StartVmRequest* request,
                                      v1::Vm* response) {
  absl::StatusOr<v1::Vm> vm = supervisor_.StartVm(request->vm_id());
  if (vm.ok()) *response = *std::move(vm);
  return ToGrpcStatus(vm.status());
}

grpc::Status DaemonVmService::StopVm(grpc::ServerContext*, const v1::StopVmRequest* request,
                                     v1::Vm* response) {
  absl::StatusOr<v1::Vm> vm = supervisor_.StopVm(request->vm_id());
  if (vm.ok()) *response = *std::move(vm);
  return ToGrpcStatus(vm.status());
}

grpc::Status DaemonVmService::DeleteVm(grpc::ServerContext*, const v1::DeleteVmRequest* request,
                                       google::protobuf::Empty*) {
  return ToGrpcStatus(supervisor_.DeleteVm(request->vm_id()));
}

grpc::Status DaemonVmService::GetVm(grpc::ServerContext*, const v1::GetVmRequest* request,
                                    v1::Vm* response) {
  absl::StatusOr<v1::Vm> vm = supervisor_.GetVm(request->vm_id());
  if (vm.ok()) *response = *std::move(vm);
  return ToGrpcStatus(vm.status());
}

grpc::Status DaemonVmService::ListVms(grpc::ServerContext*, const v1::ListVmsRequest*,
                                      v1::ListVmsResponse* response) {
  for (v1::Vm& vm : supervisor_.ListVms()) *response->add_vms() = std::move(vm);
  return grpc::Status::OK;
}

template <typename Call>
grpc::Status DaemonBalloonService::Forward(grpc::ServerContext* server_context,
                                           const std::string& vm_id, Call call) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = supervisor_.ControlChannel(vm_id);
  if (!channel.ok()) return ToGrpcStatus(channel.status());
  std::unique_ptr<v1::BalloonService::Stub> stub = v1::BalloonService::NewStub(*channel);
  std::unique_ptr<grpc::ClientContext> context = ChildContext(server_context, timeout_);
  grpc::Status status = call(*stub, context.get());
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    // Say which VM did not answer (the caller may be talking to many).
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                        absl::StrCat("VM '", vm_id, "' did not answer within ",
                                     absl::FormatDuration(timeout_), " (",
                                     status.error_message(), ")"));
  }
  return status;
}

#define BLIMP_FORWARD_UNARY(Method, Request, Response)                                      \
  grpc::Status DaemonBalloonService::Method(grpc::ServerContext* server_context,            \
                                            const v1::Request* request, Response* response) { \
    return Forward(server_context, request->vm_id(),                                        \
                   [&](v1::BalloonService::Stub& stub, grpc::ClientContext* context) {       \
                     return stub.Method(context, *request, response);                       \
                   });                                                                      \
  }

BLIMP_FORWARD_UNARY(PutBalloon, PutBalloonRequest, google::protobuf::Empty)
BLIMP_FORWARD_UNARY(GetBalloon, GetBalloonRequest, v1::Balloon)
BLIMP_FORWARD_UNARY(PatchBalloon, PatchBalloonRequest, google::protobuf::Empty)
BLIMP_FORWARD_UNARY(GetBalloonStatistics, GetBalloonStatisticsRequest, v1::BalloonStats)
BLIMP_FORWARD_UNARY(PatchBalloonStatistics, PatchBalloonStatisticsRequest,
                    google::protobuf::Empty)
BLIMP_FORWARD_UNARY(StartBalloonHinting, StartBalloonHintingRequest, google::protobuf::Empty)
BLIMP_FORWARD_UNARY(GetBalloonHintingStatus, GetBalloonHintingStatusRequest,
                    v1::HintingStatus)
BLIMP_FORWARD_UNARY(StopBalloonHinting, StopBalloonHintingRequest, google::protobuf::Empty)
BLIMP_FORWARD_UNARY(GetBalloonMetrics, GetBalloonMetricsRequest, v1::BalloonMetrics)

#undef BLIMP_FORWARD_UNARY

grpc::Status DaemonBalloonService::WatchBalloonStatistics(
    grpc::ServerContext* server_context, const v1::WatchBalloonStatisticsRequest* request,
    grpc::ServerWriter<v1::BalloonStats>* writer) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      supervisor_.ControlChannel(request->vm_id());
  if (!channel.ok()) return ToGrpcStatus(channel.status());
  std::unique_ptr<v1::BalloonService::Stub> stub = v1::BalloonService::NewStub(*channel);
  std::unique_ptr<grpc::ClientContext> context =
      ChildContext(server_context, absl::InfiniteDuration());
  // Cancellation also propagates through the parent call; this covers a
  // caller that goes away without the core noticing (e.g. in-process).
  absl::Notification done;
  std::thread watchdog([&] {
    while (!done.WaitForNotificationWithTimeout(absl::Milliseconds(200))) {
      if (server_context->IsCancelled()) {
        context->TryCancel();
        return;
      }
    }
  });
  std::unique_ptr<grpc::ClientReader<v1::BalloonStats>> reader =
      stub->WatchBalloonStatistics(context.get(), *request);
  v1::BalloonStats stats;
  while (reader->Read(&stats)) {
    if (!writer->Write(stats)) {
      context->TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  done.Notify();
  watchdog.join();
  if (server_context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
  return status;
}

}  // namespace blimp::daemon

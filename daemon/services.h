// blimpd's public gRPC services over the Supervisor: VmService (create,
// configure, start, stop, delete, get, list) and BalloonService, whose every
// call is forwarded to the VM's blimp-vmm by vm_id with the caller's deadline
// (capped) and cancellation. Errors: INVALID_ARGUMENT for an unsafe id or a
// bad config, NOT_FOUND "no such VM 'x'", FAILED_PRECONDITION when the VM's
// process has exited; the child's own errors pass through unchanged.
#ifndef BLIMP_DAEMON_SERVICES_H_
#define BLIMP_DAEMON_SERVICES_H_

#include "absl/time/time.h"
#include "daemon/supervisor.h"
#include "proto/blimp/v1/balloon_service.grpc.pb.h"
#include "proto/blimp/v1/vm_service.grpc.pb.h"

namespace blimp::daemon {

class DaemonVmService final : public blimp::v1::VmService::Service {
 public:
  explicit DaemonVmService(Supervisor& supervisor) : supervisor_(supervisor) {}

  grpc::Status CreateVm(grpc::ServerContext*, const blimp::v1::CreateVmRequest*,
                        blimp::v1::Vm*) override;
  grpc::Status PutBootSource(grpc::ServerContext*, const blimp::v1::PutBootSourceRequest*,
                             google::protobuf::Empty*) override;
  grpc::Status PutMachineConfig(grpc::ServerContext*,
                                const blimp::v1::PutMachineConfigRequest*,
                                google::protobuf::Empty*) override;
  grpc::Status StartVm(grpc::ServerContext*, const blimp::v1::StartVmRequest*,
                       blimp::v1::Vm*) override;
  grpc::Status StopVm(grpc::ServerContext*, const blimp::v1::StopVmRequest*,
                      blimp::v1::Vm*) override;
  grpc::Status DeleteVm(grpc::ServerContext*, const blimp::v1::DeleteVmRequest*,
                        google::protobuf::Empty*) override;
  grpc::Status GetVm(grpc::ServerContext*, const blimp::v1::GetVmRequest*,
                     blimp::v1::Vm*) override;
  grpc::Status ListVms(grpc::ServerContext*, const blimp::v1::ListVmsRequest*,
                       blimp::v1::ListVmsResponse*) override;

 private:
  Supervisor& supervisor_;
};

class DaemonBalloonService final : public blimp::v1::BalloonService::Service {
 public:
  // `timeout`: the longest a forwarded unary call may take.
  explicit DaemonBalloonService(Supervisor& supervisor,
                                absl::Duration timeout = absl::Seconds(10))
      : supervisor_(supervisor), timeout_(timeout) {}

  grpc::Status PutBalloon(grpc::ServerContext*, const blimp::v1::PutBalloonRequest*,
                          google::protobuf::Empty*) override;
  grpc::Status GetBalloon(grpc::ServerContext*, const blimp::v1::GetBalloonRequest*,
                          blimp::v1::Balloon*) override;
  grpc::Status PatchBalloon(grpc::ServerContext*, const blimp::v1::PatchBalloonRequest*,
                            google::protobuf::Empty*) override;
  grpc::Status GetBalloonStatistics(grpc::ServerContext*,
                                    const blimp::v1::GetBalloonStatisticsRequest*,
                                    blimp::v1::BalloonStats*) override;
  grpc::Status PatchBalloonStatistics(grpc::ServerContext*,
                                      const blimp::v1::PatchBalloonStatisticsRequest*,
                                      google::protobuf::Empty*) override;
  grpc::Status StartBalloonHinting(grpc::ServerContext*,
                                   const blimp::v1::StartBalloonHintingRequest*,
                                   google::protobuf::Empty*) override;
  grpc::Status GetBalloonHintingStatus(grpc::ServerContext*,
                                       const blimp::v1::GetBalloonHintingStatusRequest*,
                                       blimp::v1::HintingStatus*) override;
  grpc::Status StopBalloonHinting(grpc::ServerContext*,
                                  const blimp::v1::StopBalloonHintingRequest*,
                                  google::protobuf::Empty*) override;
  grpc::Status WatchBalloonStatistics(grpc::ServerContext*,
                                      const blimp::v1::WatchBalloonStatisticsRequest*,
                                      grpc::ServerWriter<blimp::v1::BalloonStats>*) override;
  grpc::Status GetBalloonMetrics(grpc::ServerContext*,
                                 const blimp::v1::GetBalloonMetricsRequest*,
                                 blimp::v1::BalloonMetrics*) override;

 private:
  // Calls `call(stub, context)` on the VM's child with a context derived
  // from `server_context`.
  template <typename Call>
  grpc::Status Forward(grpc::ServerContext* server_context, const std::string& vm_id,
                       Call call);

  Supervisor& supervisor_;
  const absl::Duration timeout_;
};

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_SERVICES_H_

// blimp-vmm's gRPC control API on --control-sock: the BalloonService and the
// part of VmService one VM needs, both translating to VmController (which
// holds every rule). Requests must name this VM's id.
#ifndef BLIMP_VMM_CONTROL_SERVICE_H_
#define BLIMP_VMM_CONTROL_SERVICE_H_

#include "proto/blimp/v1/balloon_service.grpc.pb.h"
#include "proto/blimp/v1/vm_service.grpc.pb.h"
#include "vmm/vm_controller.h"

namespace blimp::vmm {

// The Vm message for this VM (state, config, balloon, VMM process RSS).
blimp::v1::Vm DescribeVm(VmController& controller);
// BalloonStats from a snapshot: config-space sizes plus reported tags.
blimp::v1::BalloonStats StatsToProto(const BalloonSnapshot& snapshot);
blimp::v1::BalloonMetrics MetricsToProto(const BalloonSnapshot& snapshot);

class BalloonControlService final : public blimp::v1::BalloonService::Service {
 public:
  explicit BalloonControlService(VmController& controller) : controller_(controller) {}

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
  VmController& controller_;
};

class VmControlService final : public blimp::v1::VmService::Service {
 public:
  explicit VmControlService(VmController& controller) : controller_(controller) {}

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
  VmController& controller_;
};

}  // namespace blimp::vmm

#endif  // BLIMP_VMM_CONTROL_SERVICE_H_

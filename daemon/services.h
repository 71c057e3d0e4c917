// blimpd's public gRPC services: VmService and BalloonService as thin
// translations of DaemonApi (the rules, validation and VM calls live there),
// errors converted once with base::ToGrpcStatus. WatchBalloonStatistics is
// the one callback-API method (a StatsStream reactor per call, fed by
// DaemonApi's fan-out, so open streams hold no thread); the rest is sync.
#ifndef BLIMP_DAEMON_SERVICES_H_
#define BLIMP_DAEMON_SERVICES_H_

#include "daemon/daemon_api.h"
#include "daemon/migration.h"
#include "daemon/vm_events.h"
#include "proto/blimp/v1/balloon_service.grpc.pb.h"
#include "proto/blimp/v1/vm_service.grpc.pb.h"

namespace blimp::daemon {

class DaemonVmService final : public blimp::v1::VmService::Service {
 public:
  DaemonVmService(DaemonApi& api, VmEvents& events, Migration& migration)
      : api_(api), events_(events), migration_(migration) {}

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
  grpc::Status PauseVm(grpc::ServerContext*, const blimp::v1::PauseVmRequest*,
                       blimp::v1::Vm*) override;
  grpc::Status ResumeVm(grpc::ServerContext*, const blimp::v1::ResumeVmRequest*,
                        blimp::v1::Vm*) override;
  grpc::Status CreateSnapshot(grpc::ServerContext*, const blimp::v1::CreateSnapshotRequest*,
                              blimp::v1::SnapshotInfo*) override;
  grpc::Status MigrateVm(grpc::ServerContext*, const blimp::v1::MigrateVmRequest*,
                         blimp::v1::MigrateVmResponse*) override;
  // Sync: a thread per stream, bounded by MigrationOptions::max_receives.
  grpc::Status ReceiveVm(grpc::ServerContext*, grpc::ServerReader<blimp::v1::MigrationChunk>*,
                         blimp::v1::Vm*) override;
  grpc::Status DeleteVm(grpc::ServerContext*, const blimp::v1::DeleteVmRequest*,
                        google::protobuf::Empty*) override;
  grpc::Status GetVm(grpc::ServerContext*, const blimp::v1::GetVmRequest*,
                     blimp::v1::Vm*) override;
  grpc::Status ListVms(grpc::ServerContext*, const blimp::v1::ListVmsRequest*,
                       blimp::v1::ListVmsResponse*) override;
  // Sync: a thread per stream, bounded by VmEvents' subscriber limit.
  grpc::Status WatchVmEvents(grpc::ServerContext*, const blimp::v1::WatchVmEventsRequest*,
                             grpc::ServerWriter<blimp::v1::VmEvent>*) override;

 private:
  DaemonApi& api_;
  VmEvents& events_;
  Migration& migration_;
};

class DaemonBalloonService final
    : public blimp::v1::BalloonService::WithCallbackMethod_WatchBalloonStatistics<
          blimp::v1::BalloonService::Service> {
 public:
  explicit DaemonBalloonService(DaemonApi& api) : api_(api) {}

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
  grpc::ServerWriteReactor<blimp::v1::BalloonStats>* WatchBalloonStatistics(
      grpc::CallbackServerContext*, const blimp::v1::WatchBalloonStatisticsRequest*) override;
  grpc::Status GetBalloonMetrics(grpc::ServerContext*,
                                 const blimp::v1::GetBalloonMetricsRequest*,
                                 blimp::v1::BalloonMetrics*) override;

 private:
  DaemonApi& api_;
};

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_SERVICES_H_

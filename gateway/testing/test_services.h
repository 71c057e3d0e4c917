// Test helpers: real gRPC services on an in-process channel, for router and
// server tests. SingleVm serves vmm's control services on a VmController
// whose launcher returns a FakeVm; Daemon is a small fake of blimpd's
// services routing by VM id to one such VmController per VM.
#ifndef BLIMP_GATEWAY_TESTING_TEST_SERVICES_H_
#define BLIMP_GATEWAY_TESTING_TEST_SERVICES_H_

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/synchronization/mutex.h"
#include "proto/blimp/v1/balloon_service.grpc.pb.h"
#include "proto/blimp/v1/vm_service.grpc.pb.h"
#include "vmm/control_service.h"
#include "vmm/vm_controller.h"

namespace blimp::gateway::testing {

class FakeVm : public vmm::RunningVm {
 public:
  void SetBalloonTarget(uint32_t pages) override { snapshot.target_pages = pages; }
  vmm::BalloonSnapshot GetBalloon() override { return snapshot; }
  void SetStatsInterval(uint32_t seconds) override {}
  void StartHinting(bool ack) override { snapshot.hinting.host_cmd = ack ? 2 : 3; }
  void StopHinting() override { snapshot.hinting.host_cmd = 1; }
  uint64_t WaitForStats(uint64_t seen, absl::Duration) override { return seen; }
  void RequestStop() override { reason = vmm::ExitReason::kStopped; }
  std::optional<vmm::ExitReason> exit_reason() override { return reason; }

  vmm::BalloonSnapshot snapshot;
  std::optional<vmm::ExitReason> reason;
};

// A VM ("vm0" unless named) of `mem_mib` with a kernel set, optionally a
// balloon; its FakeVm is `fake` once started.
struct FakeVmHost {
  FakeVmHost(std::string id, uint32_t mem_mib, std::optional<vmm::BalloonConfig> balloon);

  std::unique_ptr<vmm::VmController> controller;
  FakeVm* fake = nullptr;  // Owned by the controller once started.
  vmm::BalloonControlService balloon_service;
  vmm::VmControlService vm_service;
};

// One VM behind blimp-vmm's own control services, on an in-process channel.
class SingleVm {
 public:
  explicit SingleVm(std::optional<vmm::BalloonConfig> balloon, uint32_t mem_mib = 256);
  ~SingleVm();

  FakeVmHost host;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<blimp::v1::BalloonService::Stub> balloon_stub;
  std::unique_ptr<blimp::v1::VmService::Stub> vm_stub;
};

// Services of a fake blimpd: each call is routed by vm_id to that VM's
// control services; an unknown id is NOT_FOUND. `calls` counts every call.
class Daemon {
 public:
  Daemon();
  ~Daemon();

  FakeVmHost* Find(const std::string& id);

  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<blimp::v1::BalloonService::Stub> balloon_stub;
  std::unique_ptr<blimp::v1::VmService::Stub> vm_stub;
  std::atomic<int> calls{0};

  class VmServiceImpl;
  class BalloonServiceImpl;

 private:
  friend class VmServiceImpl;
  friend class BalloonServiceImpl;
  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<FakeVmHost>> vms_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<VmServiceImpl> vm_service_;
  std::unique_ptr<BalloonServiceImpl> balloon_service_;
};

}  // namespace blimp::gateway::testing

#endif  // BLIMP_GATEWAY_TESTING_TEST_SERVICES_H_

// VmApi: the public API (balloon-contract.md) as plain C++ calls, with the
// contract's messages in and out and absl::Status errors (InvalidArgument
// for bad input, FailedPrecondition for the wrong state, NotFound for an
// unknown VM or a missing device, DeadlineExceeded/Unavailable when a VM
// does not answer). blimpd implements it once over its VMs; the gRPC
// services and the REST gateway are thin translations of it, so every
// call takes one hop from the edge to the VM. blimp-vmm implements it for
// its single VM (REST on --api-sock). Implementations are thread-safe.
#ifndef BLIMP_API_VM_API_H_
#define BLIMP_API_VM_API_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/blimp/v1/balloon_service.pb.h"
#include "proto/blimp/v1/vm_service.pb.h"

namespace blimp::api {

// One VM's line in GET /metrics.
struct VmMetrics {
  blimp::v1::Vm vm;
  // The balloon's counters, for a running VM with a balloon that answered.
  std::optional<blimp::v1::BalloonMetrics> balloon;
};

class VmApi {
 public:
  virtual ~VmApi() = default;

  virtual absl::StatusOr<blimp::v1::Vm> CreateVm(const std::string& vm_id,
                                                 const blimp::v1::VmConfig& config) = 0;
  virtual absl::Status PutBootSource(const std::string& vm_id,
                                     const blimp::v1::BootSource& boot_source) = 0;
  virtual absl::Status PutMachineConfig(const std::string& vm_id,
                                        const blimp::v1::MachineConfig& machine) = 0;
  virtual absl::StatusOr<blimp::v1::Vm> StartVm(const std::string& vm_id) = 0;
  virtual absl::StatusOr<blimp::v1::Vm> StopVm(const std::string& vm_id) = 0;
  // Firecracker's PATCH /vm; both idempotent.
  virtual absl::StatusOr<blimp::v1::Vm> PauseVm(const std::string& vm_id) = 0;
  virtual absl::StatusOr<blimp::v1::Vm> ResumeVm(const std::string& vm_id) = 0;
  // Firecracker's PUT /snapshot/create (paused VM) and /snapshot/load
  // (blimp-vmm: before boot; blimpd: creates VM `vm_id` from the snapshot).
  virtual absl::StatusOr<blimp::v1::SnapshotInfo> CreateSnapshot(
      const std::string& vm_id, const blimp::v1::SnapshotCreateParams& params) = 0;
  virtual absl::StatusOr<blimp::v1::Vm> LoadSnapshot(
      const std::string& vm_id, const blimp::v1::SnapshotLoadParams& params) = 0;
  virtual absl::Status DeleteVm(const std::string& vm_id) = 0;
  virtual absl::StatusOr<blimp::v1::Vm> GetVm(const std::string& vm_id) = 0;
  virtual std::vector<blimp::v1::Vm> ListVms() = 0;
  // Every VM with its balloon counters, each VM asked with a short bound.
  virtual std::vector<VmMetrics> CollectMetrics() = 0;

  virtual absl::Status PutBalloon(const std::string& vm_id,
                                  const blimp::v1::Balloon& balloon) = 0;
  virtual absl::StatusOr<blimp::v1::Balloon> GetBalloon(const std::string& vm_id) = 0;
  virtual absl::Status PatchBalloon(const std::string& vm_id,
                                    const blimp::v1::BalloonUpdate& update) = 0;
  virtual absl::StatusOr<blimp::v1::BalloonStats> GetBalloonStatistics(
      const std::string& vm_id) = 0;
  virtual absl::Status PatchBalloonStatistics(const std::string& vm_id,
                                              const blimp::v1::BalloonStatsUpdate& update) = 0;
  virtual absl::Status StartBalloonHinting(const std::string& vm_id,
                                           const blimp::v1::HintingStart& start) = 0;
  virtual absl::StatusOr<blimp::v1::HintingStatus> GetBalloonHintingStatus(
      const std::string& vm_id) = 0;
  virtual absl::Status StopBalloonHinting(const std::string& vm_id) = 0;
  virtual absl::StatusOr<blimp::v1::BalloonMetrics> GetBalloonMetrics(
      const std::string& vm_id) = 0;
};

}  // namespace blimp::api

#endif  // BLIMP_API_VM_API_H_

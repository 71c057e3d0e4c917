// Supervisor: blimpd's VMs, one blimp-vmm child process each. Creating a VM
// makes its folder <run-dir>/<id>/ (0700: config.json, control.sock,
// console.sock, console.log, vmm.log), spawns blimp-vmm --wait-for-start and
// returns once the child's control socket answers. VM calls are forwarded to
// the child's VmService; the child's exit (seen through a pidfd on the
// EventLoop thread) marks only that VM STOPPED or FAILED with the reason.
// Thread-safe; calls on different VMs do not wait for each other.
#ifndef BLIMP_DAEMON_SUPERVISOR_H_
#define BLIMP_DAEMON_SUPERVISOR_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/channel.h>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/event_loop.h"
#include "proto/blimp/v1/vm_service.pb.h"

namespace blimp::daemon {

struct SupervisorOptions {
  std::string run_dir;     // Must exist.
  std::string vmm_binary;  // Path of blimp-vmm.
  absl::Duration ready_timeout = absl::Seconds(10);  // Until control.sock answers.
  absl::Duration rpc_timeout = absl::Seconds(5);     // Each forwarded call.
  absl::Duration start_timeout = absl::Seconds(30);  // StartVm (boot).
  absl::Duration stop_grace = absl::Seconds(3);      // After StopVm, before SIGTERM.
  absl::Duration term_grace = absl::Seconds(3);      // After SIGTERM, before SIGKILL.
};

// Called outside any lock once a VM answers / before its folder goes away
// (e.g. the REST gateway's per-VM firecracker.socket).
struct VmHooks {
  std::function<void(const std::string& vm_id, const std::string& dir)> on_created;
  std::function<void(const std::string& vm_id)> on_deleted;
};

class Supervisor {
 public:
  // Starts the event loop thread (console I/O and child exits).
  static absl::StatusOr<std::unique_ptr<Supervisor>> Create(SupervisorOptions options);
  ~Supervisor();  // Shutdown().

  void SetHooks(VmHooks hooks);

  // INVALID_ARGUMENT (id, config, or a config blimp-vmm refuses, e.g. a
  // missing kernel), ALREADY_EXISTS, UNAVAILABLE after Shutdown.
  absl::StatusOr<blimp::v1::Vm> CreateVm(const std::string& vm_id,
                                         const blimp::v1::VmConfig& config);
  absl::Status PutBootSource(const std::string& vm_id, const blimp::v1::BootSource& boot);
  absl::Status PutMachineConfig(const std::string& vm_id,
                                const blimp::v1::MachineConfig& machine);
  absl::StatusOr<blimp::v1::Vm> StartVm(const std::string& vm_id);
  // Asks the child to stop, then SIGTERM, then SIGKILL; the VM stays listed.
  absl::StatusOr<blimp::v1::Vm> StopVm(const std::string& vm_id);
  // Stops the VM if needed, removes its folder and forgets it.
  absl::Status DeleteVm(const std::string& vm_id);
  absl::StatusOr<blimp::v1::Vm> GetVm(const std::string& vm_id);
  std::vector<blimp::v1::Vm> ListVms();

  // The control channel of a VM whose blimp-vmm runs, to forward calls:
  // INVALID_ARGUMENT, NOT_FOUND "no such VM 'x'", FAILED_PRECONDITION if its
  // process has exited.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> ControlChannel(const std::string& vm_id);

  // Stops every VM (in parallel) and refuses new ones. Idempotent. VM
  // folders stay (their logs), sockets go.
  void Shutdown();

  std::string VmDir(const std::string& vm_id) const;
  const SupervisorOptions& options() const { return options_; }

 private:
  struct VmProcess;

  Supervisor(SupervisorOptions options, std::unique_ptr<base::EventLoop> loop);

  absl::StatusOr<std::shared_ptr<VmProcess>> Find(const std::string& vm_id);
  absl::Status Launch(const std::shared_ptr<VmProcess>& vm, const blimp::v1::VmConfig& config);
  absl::Status WaitUntilReady(VmProcess& vm);
  void OnChildExit(const std::shared_ptr<VmProcess>& vm);
  // Stops the child: StopVm, SIGTERM, SIGKILL, each after a grace period.
  void Terminate(VmProcess& vm);
  void Forget(const std::shared_ptr<VmProcess>& vm);
  blimp::v1::Vm Describe(VmProcess& vm);

  const SupervisorOptions options_;
  std::unique_ptr<base::EventLoop> loop_;
  std::thread loop_thread_;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, std::shared_ptr<VmProcess>> vms_ ABSL_GUARDED_BY(mu_);
  VmHooks hooks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_SUPERVISOR_H_

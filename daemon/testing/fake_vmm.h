// FakeVmm: blimp-vmm's control socket without a process or KVM, for tests
// of blimpd's side of the control protocol: the real ControlServer over a
// VmController whose RunningVm is a FakeRunningVm, listening on a path.
#ifndef BLIMP_DAEMON_TESTING_FAKE_VMM_H_
#define BLIMP_DAEMON_TESTING_FAKE_VMM_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "vmm/control/control_handler.h"
#include "vmm/control/control_server.h"
#include "vmm/testing/fake_running_vm.h"
#include "vmm/vm_controller.h"

namespace blimp::daemon::testing {

class FakeVmm {
 public:
  static absl::StatusOr<std::unique_ptr<FakeVmm>> Start(const std::string& socket_path,
                                                        int max_connections = 8);
  ~FakeVmm();

  // Installs a balloon (statistics every second) and starts the VM, over a
  // control connection that is closed again before this returns.
  absl::Status Boot();
  // The running VM (after Boot): PublishStats() is a guest refresh.
  vmm::testing::FakeRunningVm& vm() { return *vm_; }
  // The VM stops: every statistics watch gets "the VM stopped", then ends.
  void StopVm() { vm_->RequestStop(); }
  // Control connections open now (calls and watches).
  int connections() { return server_->connection_count(); }
  // Waits up to 5 s until connections() == n; whether it got there.
  bool WaitForConnections(int n);
  // Closes the socket and every connection, as a dying blimp-vmm would.
  void Kill() { server_->Stop(); }
  const std::string& socket_path() const { return socket_path_; }

 private:
  FakeVmm() = default;

  std::string socket_path_;
  std::unique_ptr<vmm::VmController> controller_;
  std::unique_ptr<vmm::control::ControlHandler> handler_;
  std::unique_ptr<vmm::control::ControlServer> server_;
  vmm::testing::FakeRunningVm* vm_ = nullptr;
};

}  // namespace blimp::daemon::testing

#endif  // BLIMP_DAEMON_TESTING_FAKE_VMM_H_

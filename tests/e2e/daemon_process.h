// DaemonProcess: a real blimpd for end-to-end tests, with its own run
// directory under /tmp, gRPC stubs on its socket, and a small HTTP/1.1 client
// for its unix-socket REST gateways.
#ifndef BLIMP_TESTS_E2E_DAEMON_PROCESS_H_
#define BLIMP_TESTS_E2E_DAEMON_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/blimp/v1/balloon_service.grpc.pb.h"
#include "tests/e2e/http_client.h"
#include "proto/blimp/v1/vm_service.grpc.pb.h"

namespace blimp::tests {

// A config that boots the test guest with a balloon (statistics every second).
blimp::v1::VmConfig TestGuestVmConfig(int mem_mib);

class DaemonProcess {
 public:
  // `flags` are added to blimpd's command line; `run_dir_mode`, if given, is
  // the run directory's mode before blimpd starts.
  static absl::StatusOr<std::unique_ptr<DaemonProcess>> Start(
      std::vector<std::string> flags = {}, std::optional<int> run_dir_mode = std::nullopt);
  ~DaemonProcess();  // Also kills the VMMs a killed or detached blimpd left.

  // A new blimpd on the same run directory, once this one has exited
  // (Signal + WaitExit): it adopts the VMMs the old one left running.
  absl::Status Restart(std::vector<std::string> flags = {});
  // The pids of the blimp-vmm processes running in the run directory (the
  // holders of each VM's control.sock.lock).
  std::vector<pid_t> VmmPids() const;

  const std::string& run_dir() const { return run_dir_; }
  pid_t pid() const { return pid_; }
  // blimpd's stdout and stderr.
  std::string log_path() const { return run_dir_ + "/blimpd.log"; }
  // The TCP port of --http-listen=HOST:0, from blimpd's log.
  absl::StatusOr<int> RestTcpPort() const;
  // The TCP port of --grpc-listen=HOST:0, from blimpd's log.
  absl::StatusOr<int> GrpcTcpPort() const;
  std::string rest_socket() const { return run_dir_ + "/blimp.sock"; }
  // A VM's folder: <run-dir>/vms/<id>.
  std::string vm_dir(const std::string& id) const { return run_dir_ + "/vms/" + id; }
  std::string vm_socket(const std::string& id) const {
    return vm_dir(id) + "/firecracker.socket";
  }
  std::string console_socket(const std::string& id) const {
    return vm_dir(id) + "/console.sock";
  }
  std::string console_log(const std::string& id) const { return vm_dir(id) + "/console.log"; }
  blimp::v1::VmService::Stub& vms() { return *vms_; }
  blimp::v1::BalloonService::Stub& balloons() { return *balloons_; }

  // Creates and starts a test-guest VM with a balloon (statistics every
  // second) and waits for BLIMP-GUEST-READY in its console.log.
  absl::Status BootTestGuest(const std::string& id, int mem_mib);
  // Creates and starts a VM with `config` and waits for BLIMP-GUEST-READY.
  absl::Status BootVm(const std::string& id, const blimp::v1::VmConfig& config,
                      absl::Duration timeout);
  // Sends `command` to the guest's shell through its console.sock; the
  // output up to a line starting with one of `ends` (or what came in time).
  std::string Console(const std::string& id, const std::string& command,
                      const std::vector<std::string>& ends,
                      absl::Duration timeout = absl::Seconds(20));
  absl::StatusOr<blimp::v1::Vm> GetVm(const std::string& id);
  absl::Status SetTarget(const std::string& id, uint32_t mib);
  absl::StatusOr<blimp::v1::BalloonStats> Stats(const std::string& id);
  // Waits until the VM's balloon reports `mib`.
  absl::Status WaitForActual(const std::string& id, uint32_t mib,
                             absl::Duration timeout = absl::Seconds(30));

  void Signal(int signal);
  std::optional<int> WaitExit(absl::Duration timeout);

 private:
  DaemonProcess() = default;
  absl::Status Launch(std::vector<std::string> flags);
  // The number after `says` ("REST on TCP port ") in blimpd's log.
  absl::StatusOr<int> PortFromLog(const std::string& says) const;

  std::string run_dir_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  std::unique_ptr<blimp::v1::VmService::Stub> vms_;
  std::unique_ptr<blimp::v1::BalloonService::Stub> balloons_;
};

}  // namespace blimp::tests

#endif  // BLIMP_TESTS_E2E_DAEMON_PROCESS_H_

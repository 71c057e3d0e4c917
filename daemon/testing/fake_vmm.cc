#include "daemon/testing/fake_vmm.h"

#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "vmm/control/control_client.h"

namespace blimp::daemon::testing {

absl::StatusOr<std::unique_ptr<FakeVmm>> FakeVmm::Start(const std::string& socket_path,
                                                        int max_connections) {
  std::unique_ptr<FakeVmm> vmm(new FakeVmm());
  vmm->socket_path_ = socket_path;
  vmm::PendingConfig config;
  config.boot_source = vmm::BootSourceConfig{"/kernel", "", ""};
  config.machine.mem_size_mib = 256;
  FakeVmm* raw = vmm.get();
  vmm->controller_ = std::make_unique<vmm::VmController>(
      "fake", config,
      [raw](const vmm::VmConfig&) -> absl::StatusOr<std::unique_ptr<vmm::RunningVm>> {
        auto vm = std::make_unique<vmm::testing::FakeRunningVm>();
        raw->vm_ = vm.get();
        return std::unique_ptr<vmm::RunningVm>(std::move(vm));
      });
  vmm->handler_ = std::make_unique<vmm::control::ControlHandler>(*vmm->controller_);
  vmm::control::ControlServerOptions options;
  options.max_connections = max_connections;
  options.send_timeout = absl::Milliseconds(500);
  ASSIGN_OR_RETURN(vmm->server_,
                   vmm::control::ControlServer::Start(socket_path, *vmm->handler_, options));
  return vmm;
}

FakeVmm::~FakeVmm() {
  if (server_) server_->Stop();
}

absl::Status FakeVmm::Boot() {
  vmm::control::VmmClient client(socket_path_, 1);
  vmm::control::Request put;
  put.mutable_put_balloon()->set_amount_mib(0);
  put.mutable_put_balloon()->set_deflate_on_oom(false);
  put.mutable_put_balloon()->set_stats_polling_interval_s(1);
  RETURN_IF_ERROR(client.Call(put, absl::Seconds(5)).status());
  vmm::control::Request start;
  start.mutable_start();
  return client.Call(start, absl::Seconds(5)).status();
}

bool FakeVmm::WaitForConnections(int n) {
  for (absl::Time end = absl::Now() + absl::Seconds(5); absl::Now() < end;
       absl::SleepFor(absl::Milliseconds(10))) {
    if (connections() == n) return true;
  }
  return connections() == n;
}

}  // namespace blimp::daemon::testing

#include "gateway/testing/fake_vms.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace blimp::gateway::testing {

FakeVmHost::FakeVmHost(std::string id, uint32_t mem_mib,
                       std::optional<vmm::BalloonConfig> balloon) {
  vmm::PendingConfig config;
  config.boot_source = vmm::BootSourceConfig{"/k", "", ""};
  config.machine.mem_size_mib = mem_mib;
  config.balloon = balloon;
  controller = std::make_unique<vmm::VmController>(
      id, config,
      [this](const vmm::VmConfig& c) -> absl::StatusOr<std::unique_ptr<vmm::RunningVm>> {
        auto vm = std::make_unique<vmm::testing::FakeRunningVm>();
        // As the real VM does: the balloon starts at its configured target.
        if (c.balloon) vm->SetBalloonTarget(c.balloon->amount_mib * 256);
        fake = vm.get();
        return std::unique_ptr<vmm::RunningVm>(std::move(vm));
      });
  handler = std::make_unique<vmm::control::ControlHandler>(*controller);
  api = std::make_unique<vmm::SingleVmApi>(id, *handler);
}

FakeVmHost* FakeDaemonApi::Find(const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = vms_.find(id);
  return it == vms_.end() ? nullptr : it->second.get();
}

absl::StatusOr<vmm::SingleVmApi*> FakeDaemonApi::Vm(const std::string& vm_id) {
  ++calls;
  FakeVmHost* host = Find(vm_id);
  if (host == nullptr) return absl::NotFoundError(absl::StrCat("no VM '", vm_id, "'"));
  return host->api.get();
}

absl::StatusOr<blimp::v1::Vm> FakeDaemonApi::CreateVm(const std::string& vm_id,
                                                      const blimp::v1::VmConfig& config) {
  ++calls;
  std::optional<vmm::BalloonConfig> balloon;
  if (config.has_balloon()) {
    balloon = vmm::BalloonConfig{config.balloon().amount_mib(),
                                 config.balloon().deflate_on_oom(),
                                 config.balloon().stats_polling_interval_s(),
                                 config.balloon().free_page_reporting(),
                                 config.balloon().free_page_hinting(),
                                 config.balloon().memory_enforcement()};
  }
  {
    absl::MutexLock lock(&mu_);
    if (vms_.count(vm_id) != 0) {
      return absl::AlreadyExistsError(absl::StrCat("VM '", vm_id, "' already exists"));
    }
    vms_[vm_id] = std::make_unique<FakeVmHost>(
        vm_id, config.machine_config().mem_size_mib(), balloon);
  }
  return GetVm(vm_id);
}

absl::Status FakeDaemonApi::DeleteVm(const std::string& vm_id) {
  ++calls;
  absl::MutexLock lock(&mu_);
  if (vms_.erase(vm_id) == 0) return absl::NotFoundError(absl::StrCat("no VM '", vm_id, "'"));
  return absl::OkStatus();
}

std::vector<blimp::v1::Vm> FakeDaemonApi::ListVms() {
  ++calls;
  std::vector<std::string> ids;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, host] : vms_) ids.push_back(id);
  }
  std::vector<blimp::v1::Vm> all;
  for (const std::string& id : ids) {
    if (auto vm = GetVm(id); vm.ok()) all.push_back(*std::move(vm));
  }
  return all;
}

std::vector<api::VmMetrics> FakeDaemonApi::CollectMetrics() {
  std::vector<api::VmMetrics> all;
  for (blimp::v1::Vm& vm : ListVms()) {
    api::VmMetrics metrics{vm, std::nullopt};
    if (auto balloon = GetBalloonMetrics(vm.vm_id()); balloon.ok()) metrics.balloon = *balloon;
    all.push_back(std::move(metrics));
  }
  return all;
}

// Every other call: the named VM's own API.
#define BLIMP_FORWARD(Result, Method, Params, Args)       \
  Result FakeDaemonApi::Method Params {                   \
    ASSIGN_OR_RETURN(vmm::SingleVmApi * vm, Vm(vm_id));   \
    return vm->Method Args;                               \
  }

BLIMP_FORWARD(absl::Status, PutBootSource,
              (const std::string& vm_id, const blimp::v1::BootSource& boot_source),
              (vm_id, boot_source))
BLIMP_FORWARD(absl::Status, PutMachineConfig,
              (const std::string& vm_id, const blimp::v1::MachineConfig& machine),
              (vm_id, machine))
BLIMP_FORWARD(absl::StatusOr<blimp::v1::Vm>, StartVm, (const std::string& vm_id), (vm_id))
BLIMP_FORWARD(absl::StatusOr<blimp::v1::Vm>, StopVm, (const std::string& vm_id), (vm_id))
BLIMP_FORWARD(absl::StatusOr<blimp::v1::Vm>, PauseVm, (const std::string& vm_id), (vm_id))
BLIMP_FORWARD(absl::StatusOr<blimp::v1::Vm>, ResumeVm, (const std::string& vm_id), (vm_id))
BLIMP_FORWARD(absl::StatusOr<blimp::v1::SnapshotInfo>, CreateSnapshot,
              (const std::string& vm_id, const blimp::v1::SnapshotCreateParams& params),
              (vm_id, params))
BLIMP_FORWARD(absl::StatusOr<blimp::v1::Vm>, LoadSnapshot,
              (const std::string& vm_id, const blimp::v1::SnapshotLoadParams& params),
              (vm_id, params))
BLIMP_FORWARD(absl::StatusOr<blimp::v1::Vm>, GetVm, (const std::string& vm_id), (vm_id))
BLIMP_FORWARD(absl::Status, PutBalloon,
              (const std::string& vm_id, const blimp::v1::Balloon& balloon), (vm_id, balloon))
BLIMP_FORWARD(absl::StatusOr<blimp::v1::Balloon>, GetBalloon, (const std::string& vm_id),
              (vm_id))
BLIMP_FORWARD(absl::Status, PatchBalloon,
              (const std::string& vm_id, const blimp::v1::BalloonUpdate& update),
              (vm_id, update))
BLIMP_FORWARD(absl::StatusOr<blimp::v1::BalloonStats>, GetBalloonStatistics,
              (const std::string& vm_id), (vm_id))
BLIMP_FORWARD(absl::Status, PatchBalloonStatistics,
              (const std::string& vm_id, const blimp::v1::BalloonStatsUpdate& update),
              (vm_id, update))
BLIMP_FORWARD(absl::Status, StartBalloonHinting,
              (const std::string& vm_id, const blimp::v1::HintingStart& start), (vm_id, start))
BLIMP_FORWARD(absl::StatusOr<blimp::v1::HintingStatus>, GetBalloonHintingStatus,
              (const std::string& vm_id), (vm_id))
BLIMP_FORWARD(absl::Status, StopBalloonHinting, (const std::string& vm_id), (vm_id))
BLIMP_FORWARD(absl::StatusOr<blimp::v1::BalloonMetrics>, GetBalloonMetrics,
              (const std::string& vm_id), (vm_id))

#undef BLIMP_FORWARD

}  // namespace blimp::gateway::testing

#include "gateway/testing/test_services.h"

#include "absl/strings/str_cat.h"

namespace blimp::gateway::testing {
namespace {

vmm::PendingConfig MakeConfig(uint32_t mem_mib, std::optional<vmm::BalloonConfig> balloon) {
  vmm::PendingConfig config;
  config.boot_source = vmm::BootSourceConfig{"/kernel", "", ""};
  config.machine.mem_size_mib = mem_mib;
  config.balloon = balloon;
  return config;
}

}  // namespace

FakeVmHost::FakeVmHost(std::string id, uint32_t mem_mib,
                       std::optional<vmm::BalloonConfig> balloon)
    : controller(std::make_unique<vmm::VmController>(
          std::move(id), MakeConfig(mem_mib, balloon),
          [this](const vmm::VmConfig& c) -> absl::StatusOr<std::unique_ptr<vmm::RunningVm>> {
            auto vm = std::make_unique<FakeVm>();
            if (c.balloon) vm->snapshot.target_pages = c.balloon->amount_mib * 256;
            fake = vm.get();
            return std::unique_ptr<vmm::RunningVm>(std::move(vm));
          })),
      balloon_service(*controller),
      vm_service(*controller) {}

SingleVm::SingleVm(std::optional<vmm::BalloonConfig> balloon, uint32_t mem_mib)
    : host("vm0", mem_mib, balloon) {
  grpc::ServerBuilder builder;
  builder.RegisterService(&host.balloon_service);
  builder.RegisterService(&host.vm_service);
  server = builder.BuildAndStart();
  auto channel = server->InProcessChannel({});
  balloon_stub = blimp::v1::BalloonService::NewStub(channel);
  vm_stub = blimp::v1::VmService::NewStub(channel);
}

SingleVm::~SingleVm() { server->Shutdown(); }

#define BLIMP_FORWARD(Service, Method, Request, Response, member)                    \
  grpc::Status Method(grpc::ServerContext* context, const blimp::v1::Request* request, \
                      Response* response) override {                                 \
    ++daemon_.calls;                                                                 \
    FakeVmHost* host = daemon_.Find(request->vm_id());                               \
    if (host == nullptr) {                                                           \
      return grpc::Status(grpc::StatusCode::NOT_FOUND,                               \
                          absl::StrCat("no VM '", request->vm_id(), "'"));           \
    }                                                                                \
    return host->member.Method(context, request, response);                          \
  }

class Daemon::VmServiceImpl final : public blimp::v1::VmService::Service {
 public:
  explicit VmServiceImpl(Daemon& daemon) : daemon_(daemon) {}

  grpc::Status CreateVm(grpc::ServerContext*, const blimp::v1::CreateVmRequest* request,
                        blimp::v1::Vm* response) override {
    ++daemon_.calls;
    const blimp::v1::VmConfig& config = request->config();
    std::optional<vmm::BalloonConfig> balloon;
    if (config.has_balloon()) {
      balloon = vmm::BalloonConfig{config.balloon().amount_mib(),
                                   config.balloon().deflate_on_oom(),
                                   config.balloon().stats_polling_interval_s(),
                                   config.balloon().free_page_reporting(),
                                   config.balloon().free_page_hinting()};
    }
    absl::MutexLock lock(&daemon_.mu_);
    auto& slot = daemon_.vms_[request->vm_id()];
    if (slot != nullptr) {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          absl::StrCat("VM '", request->vm_id(), "' already exists"));
    }
    slot = std::make_unique<FakeVmHost>(request->vm_id(),
                                        config.machine_config().mem_size_mib(), balloon);
    *response = vmm::DescribeVm(*slot->controller);
    return grpc::Status::OK;
  }
  grpc::Status DeleteVm(grpc::ServerContext*, const blimp::v1::DeleteVmRequest* request,
                        google::protobuf::Empty*) override {
    ++daemon_.calls;
    absl::MutexLock lock(&daemon_.mu_);
    if (daemon_.vms_.erase(request->vm_id()) == 0) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such VM");
    }
    return grpc::Status::OK;
  }
  grpc::Status ListVms(grpc::ServerContext*, const blimp::v1::ListVmsRequest*,
                       blimp::v1::ListVmsResponse* response) override {
    ++daemon_.calls;
    absl::MutexLock lock(&daemon_.mu_);
    for (auto& [id, host] : daemon_.vms_) *response->add_vms() = vmm::DescribeVm(*host->controller);
    return grpc::Status::OK;
  }
  BLIMP_FORWARD(VmService, PutBootSource, PutBootSourceRequest, google::protobuf::Empty,
                vm_service)
  BLIMP_FORWARD(VmService, PutMachineConfig, PutMachineConfigRequest, google::protobuf::Empty,
                vm_service)
  BLIMP_FORWARD(VmService, StartVm, StartVmRequest, blimp::v1::Vm, vm_service)
  BLIMP_FORWARD(VmService, StopVm, StopVmRequest, blimp::v1::Vm, vm_service)
  BLIMP_FORWARD(VmService, GetVm, GetVmRequest, blimp::v1::Vm, vm_service)

 private:
  Daemon& daemon_;
};

class Daemon::BalloonServiceImpl final : public blimp::v1::BalloonService::Service {
 public:
  explicit BalloonServiceImpl(Daemon& daemon) : daemon_(daemon) {}

  BLIMP_FORWARD(BalloonService, PutBalloon, PutBalloonRequest, google::protobuf::Empty,
                balloon_service)
  BLIMP_FORWARD(BalloonService, GetBalloon, GetBalloonRequest, blimp::v1::Balloon,
                balloon_service)
  BLIMP_FORWARD(BalloonService, PatchBalloon, PatchBalloonRequest, google::protobuf::Empty,
                balloon_service)
  BLIMP_FORWARD(BalloonService, GetBalloonStatistics, GetBalloonStatisticsRequest,
                blimp::v1::BalloonStats, balloon_service)
  BLIMP_FORWARD(BalloonService, PatchBalloonStatistics, PatchBalloonStatisticsRequest,
                google::protobuf::Empty, balloon_service)
  BLIMP_FORWARD(BalloonService, StartBalloonHinting, StartBalloonHintingRequest,
                google::protobuf::Empty, balloon_service)
  BLIMP_FORWARD(BalloonService, GetBalloonHintingStatus, GetBalloonHintingStatusRequest,
                blimp::v1::HintingStatus, balloon_service)
  BLIMP_FORWARD(BalloonService, StopBalloonHinting, StopBalloonHintingRequest,
                google::protobuf::Empty, balloon_service)
  BLIMP_FORWARD(BalloonService, GetBalloonMetrics, GetBalloonMetricsRequest,
                blimp::v1::BalloonMetrics, balloon_service)

 private:
  Daemon& daemon_;
};

#undef BLIMP_FORWARD

Daemon::Daemon()
    : vm_service_(std::make_unique<VmServiceImpl>(*this)),
      balloon_service_(std::make_unique<BalloonServiceImpl>(*this)) {
  grpc::ServerBuilder builder;
  builder.RegisterService(vm_service_.get());
  builder.RegisterService(balloon_service_.get());
  server = builder.BuildAndStart();
  auto channel = server->InProcessChannel({});
  balloon_stub = blimp::v1::BalloonService::NewStub(channel);
  vm_stub = blimp::v1::VmService::NewStub(channel);
}

Daemon::~Daemon() { server->Shutdown(); }

FakeVmHost* Daemon::Find(const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = vms_.find(id);
  return it == vms_.end() ? nullptr : it->second.get();
}

}  // namespace blimp::gateway::testing

// Fuzzes REST request -> gRPC translation: any method, path and body against
// the single-VM router backed by a real VmController (whose VM never boots).
// Every answer must be a known status with a JSON fault for errors.
#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <string>

#include "fuzz/fuzz_input.h"
#include "gateway/router.h"
#include "vmm/control_service.h"
#include "vmm/vm_controller.h"

namespace blimp::fuzz {
namespace {

struct Backend {
  Backend()
      : controller("vm0", vmm::PendingConfig{},
                   [](const vmm::VmConfig&) -> absl::StatusOr<std::unique_ptr<vmm::RunningVm>> {
                     return absl::FailedPreconditionError("no VMs in the fuzzer");
                   }),
        balloon_service(controller),
        vm_service(controller) {
    grpc::ServerBuilder builder;
    builder.RegisterService(&balloon_service);
    builder.RegisterService(&vm_service);
    server = builder.BuildAndStart();
    auto channel = server->InProcessChannel(grpc::ChannelArguments());
    balloon_stub = blimp::v1::BalloonService::NewStub(channel);
    vm_stub = blimp::v1::VmService::NewStub(channel);
  }
  vmm::VmController controller;
  vmm::BalloonControlService balloon_service;
  vmm::VmControlService vm_service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<blimp::v1::BalloonService::Stub> balloon_stub;
  std::unique_ptr<blimp::v1::VmService::Stub> vm_stub;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Backend* backend = new Backend();
  static gateway::Router* router = new gateway::Router(gateway::Router::ForSingleVm(
      "vm0", backend->balloon_stub.get(), backend->vm_stub.get()));
  static const char* kMethods[] = {"GET", "PUT", "PATCH", "DELETE", "POST", "HEAD", "X"};
  FuzzInput input(data, size);
  gateway::HttpRequest request;
  request.method = kMethods[input.Take<uint8_t>() % 7];
  uint8_t path_len = input.Take<uint8_t>();
  request.path.resize(path_len);
  request.path.resize(input.TakeBytes(reinterpret_cast<uint8_t*>(request.path.data()), path_len));
  request.body.resize(input.remaining());
  input.TakeBytes(reinterpret_cast<uint8_t*>(request.body.data()), request.body.size());
  gateway::HttpResponse response = router->Handle(request);
  if (response.status < 200 || response.status > 599) __builtin_trap();
  if (response.status >= 400 && response.body.find("fault_message") == std::string::npos &&
      response.status != 404 && response.status != 405) {
    __builtin_trap();
  }
  return 0;
}

}  // namespace blimp::fuzz

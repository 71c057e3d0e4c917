// Fuzzes REST request -> VmApi translation: any method, path and body against
// the single-VM router backed by a real VmController (whose VM never boots).
// Every answer must be a known status with a JSON fault for errors.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_input.h"
#include "gateway/router.h"
#include "vmm/control/control_handler.h"
#include "vmm/single_vm_api.h"
#include "vmm/vm_controller.h"

namespace blimp::fuzz {
namespace {

struct Backend {
  Backend()
      : controller("vm0", vmm::PendingConfig{},
                   [](const vmm::VmConfig&) -> absl::StatusOr<std::unique_ptr<vmm::RunningVm>> {
                     return absl::FailedPreconditionError("no VMs in the fuzzer");
                   }),
        handler(controller),
        api("vm0", handler) {}
  vmm::VmController controller;
  vmm::control::ControlHandler handler;
  vmm::SingleVmApi api;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Backend* backend = new Backend();
  static gateway::Router* router =
      new gateway::Router(gateway::Router::ForSingleVm("vm0", backend->api));
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

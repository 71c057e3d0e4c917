// Router: the REST gateway's translation from HTTP+JSON to the gRPC
// VmService and BalloonService, with no sockets and no VM logic (every rule
// is enforced behind gRPC). Two route sets:
//  - single VM: Firecracker's own paths (PUT /balloon, GET /, ...) for one
//    fixed VM, as served on a VM's firecracker.socket / blimp-vmm --api-sock;
//  - daemon: every VM under /vms/{id}/..., plus /vms, /vms/{id} and /metrics.
// Success is 204 (PUT/PATCH/DELETE) or 200 with JSON (GET); errors carry
// {"fault_message": "..."} (see http_status.h for the codes).
// Handle() is const and thread-safe (gRPC stubs are). An HttpHandler.
#ifndef BLIMP_GATEWAY_ROUTER_H_
#define BLIMP_GATEWAY_ROUTER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "gateway/http_handler.h"
#include "proto/blimp/v1/balloon_service.grpc.pb.h"
#include "proto/blimp/v1/vm_service.grpc.pb.h"

namespace blimp::gateway {

struct RouterOptions {
  // Deadline of every gRPC call.
  absl::Duration deadline = absl::Seconds(10);
  // GET /metrics asks every running VM for its balloon counters in parallel
  // and waits at most this long; a VM that does not answer in time is
  // listed without them.
  absl::Duration metrics_deadline = absl::Seconds(1);
  // "vmm_version" in GET / (InstanceInfo).
  std::string vmm_version = "0.1.0";
};

class Router : public HttpHandler {
 public:
  using BalloonStub = blimp::v1::BalloonService::StubInterface;
  using VmStub = blimp::v1::VmService::StubInterface;

  // Firecracker's paths for the VM `vm_id`. The stubs must outlive the router.
  static Router ForSingleVm(std::string vm_id, BalloonStub* balloon, VmStub* vms,
                            RouterOptions options = {});
  // Every VM under /vms/{id}.
  static Router ForDaemon(BalloonStub* balloon, VmStub* vms, RouterOptions options = {});

  HttpResponse Handle(const HttpRequest& request) const override;
  // Daemon: "/vms/{id}" and "/vms/{id}/..." -> id; anything else -> "".
  // Single VM: one lane.
  std::string Lane(const HttpRequest& request) const override;

  // The endpoints (defined in router.cc).
  enum class Op;

 private:

  Router(bool daemon, std::string vm_id, BalloonStub* balloon, VmStub* vms,
         RouterOptions options);

  HttpResponse Dispatch(Op op, const std::string& vm_id, const std::string& body) const;
  HttpResponse Metrics() const;
  // A response for a failed call; NOT_FOUND from a balloon call is 404 only
  // when the VM itself is unknown.
  HttpResponse Failure(const grpc::Status& status, bool balloon_call,
                       const std::string& vm_id) const;
  std::unique_ptr<grpc::ClientContext> Context() const;

  bool daemon_;
  std::string vm_id_;
  BalloonStub* balloon_;
  VmStub* vms_;
  RouterOptions options_;
};

}  // namespace blimp::gateway

#endif  // BLIMP_GATEWAY_ROUTER_H_

// Router: the REST gateway's translation from HTTP+JSON to api::VmApi calls,
// with no sockets and no VM logic (every rule is enforced behind VmApi). Two route sets:
//  - single VM: Firecracker's own paths (PUT /balloon, GET /, ...) for one
//    fixed VM, as served on a VM's firecracker.socket / blimp-vmm --api-sock;
//  - daemon: every VM under /vms/{id}/..., plus /vms, /vms/{id}, /metrics
//    and /openapi.json.
// Success is 204 (PUT/PATCH/DELETE) or 200 with JSON (GET); errors carry
// {"fault_message": "..."} (see http_status.h for the codes).
// Handle() is const and thread-safe (VmApi implementations are). An
// HttpHandler.
#ifndef BLIMP_GATEWAY_ROUTER_H_
#define BLIMP_GATEWAY_ROUTER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/vm_api.h"
#include "gateway/http_handler.h"

namespace blimp::gateway {

struct RouterOptions {
  // "vmm_version" in GET / (InstanceInfo).
  std::string vmm_version = "0.1.0";
  // Daemon mode: the body of GET /metrics, Prometheus text (blimpd's
  // families, daemon/daemon_metrics.h). Without it /metrics is not served.
  // A function so the router (which blimp-vmm links) needs no metrics library.
  std::function<std::string()> metrics;
  // Daemon mode: served at GET /openapi.json when not empty (blimpd's is
  // api/openapi.json; blimp-vmm does not carry it). Must outlive the router.
  absl::string_view openapi_json;
};

class Router : public HttpHandler {
 public:
  // Firecracker's paths for the VM `vm_id`. `api` must outlive the router.
  static Router ForSingleVm(std::string vm_id, api::VmApi& api, RouterOptions options = {});
  // Every VM under /vms/{id}.
  static Router ForDaemon(api::VmApi& api, RouterOptions options = {});

  HttpResponse Handle(const HttpRequest& request) const override;
  // Daemon: "/vms/{id}" and "/vms/{id}/..." -> id; anything else -> "".
  // Single VM: one lane.
  std::string Lane(const HttpRequest& request) const override;

  // The endpoints (defined in router.cc).
  enum class Op;

 private:

  Router(bool daemon, std::string vm_id, api::VmApi& api, RouterOptions options);

  HttpResponse Dispatch(Op op, const std::string& vm_id, const std::string& body) const;
  HttpResponse Metrics() const;
  // A response for a failed call; NotFound from a balloon call is 404 only
  // when the VM itself is unknown.
  HttpResponse Failure(const absl::Status& status, bool balloon_call,
                       const std::string& vm_id) const;

  bool daemon_;
  std::string vm_id_;
  api::VmApi& api_;
  RouterOptions options_;
};

}  // namespace blimp::gateway

#endif  // BLIMP_GATEWAY_ROUTER_H_

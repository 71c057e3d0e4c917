#include "daemon/rest.h"

#include <utility>

#include "api/openapi.h"
#include "base/status_macros.h"
#include "glog/logging.h"

namespace blimp::daemon {

absl::StatusOr<std::unique_ptr<RestGateways>> RestGateways::Create(
    api::VmApi& api, const std::string& unix_path, const std::string& tcp_listen,
    gateway::HttpServerOptions options, std::function<std::string()> metrics) {
  std::unique_ptr<RestGateways> gateways(new RestGateways(api, std::move(options)));
  gateway::RouterOptions router_options;
  router_options.metrics = std::move(metrics);
  router_options.openapi_json = api::OpenApiJson();
  ASSIGN_OR_RETURN(Served served,
                   gateways->Serve(gateway::Router::ForDaemon(gateways->api_, router_options),
                                   unix_path, tcp_listen, &gateways->tcp_port_));
  absl::MutexLock lock(&gateways->mu_);
  gateways->daemon_ = std::make_unique<Served>(std::move(served));
  return gateways;
}

RestGateways::~RestGateways() { StopAll(); }

gateway::HttpServer::Counters RestGateways::counters() {
  absl::MutexLock lock(&mu_);
  return daemon_ != nullptr ? daemon_->server->counters() : gateway::HttpServer::Counters();
}

absl::StatusOr<RestGateways::Served> RestGateways::Serve(gateway::Router router,
                                                         const std::string& unix_path,
                                                         const std::string& tcp_listen,
                                                         int* tcp_port) {
  Served served;
  served.router = std::make_unique<gateway::Router>(std::move(router));
  ASSIGN_OR_RETURN(served.server, gateway::HttpServer::Create(*served.router, options_));
  RETURN_IF_ERROR(served.server->ListenUnix(unix_path));
  if (!tcp_listen.empty()) RETURN_IF_ERROR(served.server->ListenTcp(tcp_listen, tcp_port));
  RETURN_IF_ERROR(served.server->Start());
  return served;
}

absl::Status RestGateways::AddVm(const std::string& vm_id, const std::string& dir) {
  ASSIGN_OR_RETURN(Served served,
                   Serve(gateway::Router::ForSingleVm(vm_id, api_),
                         dir + "/firecracker.socket", "", nullptr));
  absl::MutexLock lock(&mu_);
  vms_[vm_id] = std::make_unique<Served>(std::move(served));
  return absl::OkStatus();
}

void RestGateways::RemoveVm(const std::string& vm_id) {
  std::unique_ptr<Served> served;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(vm_id);
    if (it == vms_.end()) return;
    served = std::move(it->second);
    vms_.erase(it);
  }
  served->server->Stop();
}

void RestGateways::StopAll() {
  std::unique_ptr<Served> daemon;
  std::map<std::string, std::unique_ptr<Served>> vms;
  {
    absl::MutexLock lock(&mu_);
    daemon = std::move(daemon_);
    vms.swap(vms_);
  }
  if (daemon) daemon->server->Stop();
  for (auto& [id, served] : vms) served->server->Stop();
}

}  // namespace blimp::daemon

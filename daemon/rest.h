// blimpd's REST gateways over DaemonApi (the same calls gRPC makes): the daemon-mode
// gateway (/vms/...) on <run-dir>/blimp.sock and optionally TCP, and one
// single-VM gateway (Firecracker's paths) per VM on <dir>/firecracker.socket,
// added and removed with the VM (see Supervisor::SetHooks).
#ifndef BLIMP_DAEMON_REST_H_
#define BLIMP_DAEMON_REST_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gateway/http_server.h"
#include "gateway/router.h"
#include "api/vm_api.h"

namespace blimp::daemon {

class RestGateways {
 public:
  // Serves the daemon routes on `unix_path` and, if not empty, `tcp_listen`
  // (HOST:PORT; the bound port is in tcp_port()); GET /metrics answers
  // `metrics()` (not served without it).
  static absl::StatusOr<std::unique_ptr<RestGateways>> Create(
      api::VmApi& api, const std::string& unix_path, const std::string& tcp_listen,
      gateway::HttpServerOptions options = {}, std::function<std::string()> metrics = nullptr);
  ~RestGateways();  // StopAll().

  // Serves Firecracker's paths for `vm_id` on <dir>/firecracker.socket.
  absl::Status AddVm(const std::string& vm_id, const std::string& dir);
  void RemoveVm(const std::string& vm_id);
  // Stops every server and removes their sockets.
  void StopAll();

  int tcp_port() const { return tcp_port_; }
  // The daemon gateway's server counters (all listeners together).
  gateway::HttpServer::Counters counters();

 private:
  struct Served {
    std::unique_ptr<gateway::Router> router;
    std::unique_ptr<gateway::HttpServer> server;
  };

  RestGateways(api::VmApi& api, gateway::HttpServerOptions options)
      : api_(api), options_(std::move(options)) {}
  absl::StatusOr<Served> Serve(gateway::Router router, const std::string& unix_path,
                               const std::string& tcp_listen, int* tcp_port);

  api::VmApi& api_;
  const gateway::HttpServerOptions options_;
  int tcp_port_ = 0;
  absl::Mutex mu_;
  std::unique_ptr<Served> daemon_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<Served>> vms_ ABSL_GUARDED_BY(mu_);
};

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_REST_H_

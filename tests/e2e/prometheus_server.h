// PrometheusServer: a real Prometheus (Debian's `prometheus`) for end-to-end
// tests, scraping one target on loopback. It listens on 127.0.0.1:0 (the port
// the kernel picked is read from its log, so no race for a free port), keeps
// its storage in a fresh folder under /tmp, and dies with the test process
// (PR_SET_PDEATHSIG); the destructor kills it and removes the folder.
#ifndef BLIMP_TESTS_E2E_PROMETHEUS_SERVER_H_
#define BLIMP_TESTS_E2E_PROMETHEUS_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace blimp::tests {

class PrometheusServer {
 public:
  // Starts `prometheus` (found on PATH) scraping
  // http://127.0.0.1:<target_port>/metrics every `interval` and waits at
  // most `ready_timeout` for it to serve queries.
  static absl::StatusOr<std::unique_ptr<PrometheusServer>> Start(int target_port,
                                                                 absl::Duration interval,
                                                                 absl::Duration ready_timeout);
  ~PrometheusServer();  // SIGKILL, reap, remove the storage folder.

  int port() const { return port_; }
  // Its log (for failure messages).
  std::string Log() const;
  // An instant query on /api/v1/query (curl, 5 s bound): the values of the
  // resulting vector, one per series. `promql` has no single quote.
  absl::StatusOr<std::vector<double>> Query(const std::string& promql) const;

 private:
  PrometheusServer() = default;
  std::string log_path() const { return dir_ + "/prometheus.log"; }
  // The port of its "Listening on" line, once it logged that it is ready.
  absl::StatusOr<int> WaitReady(absl::Duration timeout);

  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace blimp::tests

#endif  // BLIMP_TESTS_E2E_PROMETHEUS_SERVER_H_

// blimpd's own counters in GET /metrics (Prometheus text, after the per-VM
// families): the REST gateway's connections, time-outs and refusals, the
// consoles' log bytes and rotations, and the open statistics streams, so the
// limits that protect the daemon can be watched and alerted on.
#ifndef BLIMP_DAEMON_DAEMON_METRICS_H_
#define BLIMP_DAEMON_DAEMON_METRICS_H_

#include <string>

#include "daemon/console_totals.h"
#include "gateway/http_server.h"

namespace blimp::daemon {

std::string RenderDaemonMetrics(const gateway::HttpServer::Counters& http,
                                const ConsoleTotals& consoles, int open_watches);

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_DAEMON_METRICS_H_

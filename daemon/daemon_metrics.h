// GET /metrics for blimpd: the per-VM families (gateway/metrics.h), then
// blimpd's own (no labels): the REST gateway's connections, time-outs and
// refusals, the consoles' log bytes and rotations, and the statistics
// streams, so the limits that protect the daemon can be watched and alerted
// on. Names start with `blimp_daemon_`; counters end in `_total`.
#ifndef BLIMP_DAEMON_DAEMON_METRICS_H_
#define BLIMP_DAEMON_DAEMON_METRICS_H_

#include <string>
#include <vector>

#include "api/vm_api.h"
#include "daemon/console_totals.h"
#include "gateway/http_server.h"
#include "prometheus/metric_family.h"

namespace blimp::daemon {

// The statistics streams (StatsFanout's numbers).
struct WatchCounters {
  int streams = 0;          // Open WatchBalloonStatistics streams.
  int vm_watches = 0;       // VMM watch connections behind them (one per VM at most).
  uint64_t coalesced = 0;   // Updates a slow stream never saw (a newer one replaced them).
};

std::vector<prometheus::MetricFamily> DaemonMetricFamilies(
    const gateway::HttpServer::Counters& http, const ConsoleTotals& consoles,
    const WatchCounters& watches);

// The whole GET /metrics body: `vms`' families, then DaemonMetricFamilies.
std::string RenderMetrics(const std::vector<api::VmMetrics>& vms,
                          const gateway::HttpServer::Counters& http,
                          const ConsoleTotals& consoles, const WatchCounters& watches);

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_DAEMON_METRICS_H_

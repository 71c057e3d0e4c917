// blimpd's own counters in GET /metrics (Prometheus text, after the per-VM
// families): the REST gateway's connections, time-outs and refusals, the
// consoles' log bytes and rotations, and the statistics streams, so the
// limits that protect the daemon can be watched and alerted on.
#ifndef BLIMP_DAEMON_DAEMON_METRICS_H_
#define BLIMP_DAEMON_DAEMON_METRICS_H_

#include <string>

#include "daemon/console_totals.h"
#include "gateway/http_server.h"

namespace blimp::daemon {

// The statistics streams (StatsFanout's numbers).
struct WatchCounters {
  int streams = 0;          // Open WatchBalloonStatistics streams.
  int vm_watches = 0;       // VMM watch connections behind them (one per VM at most).
  uint64_t coalesced = 0;   // Updates a slow stream never saw (a newer one replaced them).
};

std::string RenderDaemonMetrics(const gateway::HttpServer::Counters& http,
                                const ConsoleTotals& consoles, const WatchCounters& watches);

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_DAEMON_METRICS_H_

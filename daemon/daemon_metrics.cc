#include "daemon/daemon_metrics.h"

#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/metrics.h"
#include "gateway/prometheus_text.h"

namespace blimp::daemon {
namespace {

using prometheus::MetricType;

void Add(std::vector<prometheus::MetricFamily>& out, const char* name, MetricType type,
         const char* help, uint64_t value) {
  prometheus::MetricFamily family =
      gateway::Family(absl::StrCat("blimp_daemon_", name), type, help);
  gateway::AddSample(family, {}, value);
  out.push_back(std::move(family));
}

}  // namespace

std::vector<prometheus::MetricFamily> DaemonMetricFamilies(
    const gateway::HttpServer::Counters& http, const ConsoleTotals& consoles,
    const WatchCounters& watches) {
  constexpr MetricType kCounter = MetricType::Counter;
  constexpr MetricType kGauge = MetricType::Gauge;
  std::vector<prometheus::MetricFamily> out;
  Add(out, "http_connections_active", kGauge, "Open REST connections (blimp.sock, TCP).",
      http.connections_active);
  Add(out, "http_connections_accepted_total", kCounter, "REST connections accepted.",
      http.connections_accepted);
  Add(out, "http_connections_refused_at_limit_total", kCounter,
      "REST connections closed at once: --http-max-connections were open.",
      http.connections_refused_at_limit);
  Add(out, "http_accept_errors_total", kCounter, "accept() failures (e.g. out of fds).",
      http.accept_errors);
  Add(out, "http_timeouts_header_total", kCounter, "Connections closed: headers too slow.",
      http.timeouts_header);
  Add(out, "http_timeouts_body_total", kCounter, "Connections closed: body too slow.",
      http.timeouts_body);
  Add(out, "http_timeouts_idle_total", kCounter, "Keep-alive connections closed when idle.",
      http.timeouts_idle);
  Add(out, "http_slow_readers_cut_total", kCounter,
      "Connections cut off: the client did not take its response in time.",
      http.slow_readers_cut);
  Add(out, "http_requests_total", kCounter, "REST requests parsed.", http.requests);
  Add(out, "http_requests_rejected_busy_total", kCounter,
      "REST requests answered 503: the VM's queue was full.", http.requests_rejected_busy);
  Add(out, "http_requests_rejected_host_total", kCounter,
      "REST requests answered 421: Host not allowed on TCP.", http.requests_rejected_host);
  Add(out, "http_parse_errors_total", kCounter, "Malformed HTTP requests.", http.parse_errors);
  Add(out, "http_tls_handshake_failures_total", kCounter,
      "REST TCP connections closed before their TLS handshake completed (plain HTTP, no or "
      "an untrusted client certificate).",
      http.tls_handshake_failures);
  Add(out, "http_output_buffered_bytes", kGauge, "Response bytes waiting for clients.",
      http.output_bytes_buffered);
  Add(out, "console_log_bytes_total", kCounter, "Serial output written to console.log files.",
      consoles.bytes_logged.load());
  Add(out, "console_log_rotations_total", kCounter,
      "console.log files rotated at --console-log-max-bytes.", consoles.rotations.load());
  Add(out, "watch_streams", kGauge, "Open WatchBalloonStatistics streams.",
      static_cast<uint64_t>(watches.streams));
  Add(out, "watch_vmm_connections", kGauge,
      "blimp-vmm statistics watches behind the streams (at most one per VM).",
      static_cast<uint64_t>(watches.vm_watches));
  Add(out, "watch_updates_coalesced_total", kCounter,
      "Statistics updates a slow stream skipped: a newer one replaced them.",
      watches.coalesced);
  return out;
}

std::string RenderMetrics(const std::vector<api::VmMetrics>& vms,
                          const gateway::HttpServer::Counters& http,
                          const ConsoleTotals& consoles, const WatchCounters& watches) {
  std::vector<prometheus::MetricFamily> families = gateway::VmMetricFamilies(vms);
  std::vector<prometheus::MetricFamily> own = DaemonMetricFamilies(http, consoles, watches);
  families.insert(families.end(), std::make_move_iterator(own.begin()),
                  std::make_move_iterator(own.end()));
  return gateway::SerializePrometheus(families);
}

}  // namespace blimp::daemon

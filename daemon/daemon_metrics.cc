#include "daemon/daemon_metrics.h"

#include "absl/strings/str_cat.h"

namespace blimp::daemon {
namespace {

void Append(std::string& out, const char* name, const char* type, const char* help,
            uint64_t value) {
  absl::StrAppend(&out, "# HELP blimp_daemon_", name, " ", help, "\n# TYPE blimp_daemon_", name,
                  " ", type, "\nblimp_daemon_", name, " ", value, "\n");
}

}  // namespace

std::string RenderDaemonMetrics(const gateway::HttpServer::Counters& http,
                                const ConsoleTotals& consoles,
                                const WatchCounters& watches) {
  std::string out;
  Append(out, "http_connections_active", "gauge", "Open REST connections (blimp.sock, TCP).",
         http.connections_active);
  Append(out, "http_connections_accepted", "counter", "REST connections accepted.",
         http.connections_accepted);
  Append(out, "http_connections_refused_at_limit", "counter",
         "REST connections closed at once: --http-max-connections were open.",
         http.connections_refused_at_limit);
  Append(out, "http_accept_errors", "counter", "accept() failures (e.g. out of fds).",
         http.accept_errors);
  Append(out, "http_timeouts_header", "counter", "Connections closed: headers too slow.",
         http.timeouts_header);
  Append(out, "http_timeouts_body", "counter", "Connections closed: body too slow.",
         http.timeouts_body);
  Append(out, "http_timeouts_idle", "counter", "Keep-alive connections closed when idle.",
         http.timeouts_idle);
  Append(out, "http_slow_readers_cut", "counter",
         "Connections cut off: the client did not take its response in time.",
         http.slow_readers_cut);
  Append(out, "http_requests", "counter", "REST requests parsed.", http.requests);
  Append(out, "http_requests_rejected_busy", "counter",
         "REST requests answered 503: the VM's queue was full.", http.requests_rejected_busy);
  Append(out, "http_requests_rejected_host", "counter",
         "REST requests answered 421: Host not allowed on TCP.", http.requests_rejected_host);
  Append(out, "http_parse_errors", "counter", "Malformed HTTP requests.", http.parse_errors);
  Append(out, "http_tls_handshake_failures", "counter",
         "REST TCP connections closed before their TLS handshake completed (plain HTTP, no or "
         "an untrusted client certificate).",
         http.tls_handshake_failures);
  Append(out, "http_output_bytes_buffered", "gauge", "Response bytes waiting for clients.",
         http.output_bytes_buffered);
  Append(out, "console_log_bytes", "counter", "Serial output written to console.log files.",
         consoles.bytes_logged.load());
  Append(out, "console_log_rotations", "counter",
         "console.log files rotated at --console-log-max-bytes.", consoles.rotations.load());
  Append(out, "watch_streams", "gauge", "Open WatchBalloonStatistics streams.",
         static_cast<uint64_t>(watches.streams));
  Append(out, "watch_vmm_connections", "gauge",
         "blimp-vmm statistics watches behind the streams (at most one per VM).",
         static_cast<uint64_t>(watches.vm_watches));
  Append(out, "watch_updates_coalesced", "counter",
         "Statistics updates a slow stream skipped: a newer one replaced them.",
         watches.coalesced);
  return out;
}

}  // namespace blimp::daemon

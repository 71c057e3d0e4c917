// HttpServer: a bounded HTTP/1.1 server for an HttpHandler (the REST
// gateway's Router), on unix sockets (mode 0600) and TCP. One epoll I/O
// thread accepts, reads, parses (http_parser.h) and writes; it never runs a
// handler. Parsed requests go to worker threads by lane (lanes.h: one lane
// per VM), and the response comes back to the I/O thread through an eventfd.
//
// Every resource a client can hold is bounded (HttpServerOptions): connections
// per listener (beyond: a tiny 503 and close), header/body/idle/write
// timeouts (slowloris is closed), one request at a time per connection
// (pipelined bytes wait in the kernel until the previous response is
// written), one response buffered per connection (at most
// max_output_bytes; a client that does not read it within write_timeout is
// cut off), request sizes (parser limits), queued requests per lane (beyond:
// 503). accept() failing for want of fds pauses accepting instead of
// spinning; such log lines are rate-limited. On TCP only, the Host header
// must be an IP literal, localhost, or in allowed_hosts (DNS rebinding).
// With options.tcp_tls every TCP listener speaks TLS with client
// certificates (tls_stream.h; blimpd gives it tls.h's OpenSSL one): the handshake runs in the same state machine, counts
// against header_timeout (a slow handshake is closed like a slow request),
// and a failed one (plain HTTP, no or a foreign client certificate) closes
// the connection and is counted. Unix sockets never use TLS.
//
//   auto server = HttpServer::Create(router);          // router outlives it
//   RETURN_IF_ERROR((*server)->ListenUnix("/run/vm/firecracker.socket"));
//   RETURN_IF_ERROR((*server)->Start());                // own I/O thread
//   ...
//   (*server)->Stop();                                  // from any thread
//
// Listen* must be called before Start()/Run().
#ifndef BLIMP_GATEWAY_HTTP_SERVER_H_
#define BLIMP_GATEWAY_HTTP_SERVER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "base/event_fd.h"
#include "base/unique_fd.h"
#include "gateway/http_handler.h"
#include "gateway/http_parser.h"
#include "gateway/lanes.h"
#include "gateway/tls_stream.h"

namespace blimp::gateway {

struct HttpServerOptions {
  // Open connections per listener; beyond, new ones get a 503 and are closed.
  int max_connections = 256;
  // The whole header section, from its first byte (a new connection: from
  // accept). Then the body, from the end of the headers.
  absl::Duration header_timeout = absl::Seconds(10);
  absl::Duration body_timeout = absl::Seconds(30);
  // A keep-alive connection waiting for its next request.
  absl::Duration idle_timeout = absl::Seconds(60);
  // A response must be taken by the client within this, or it is cut off.
  absl::Duration write_timeout = absl::Seconds(10);
  // Largest response a connection may buffer (a larger one becomes a 500).
  size_t max_output_bytes = 1 << 20;
  HttpParserLimits limits;  // Request line, headers, body (kMaxBodyBytes).
  // Per lane: lanes.concurrency running, lanes.queue_limit waiting (then
  // 503); lanes.max_threads worker threads in all.
  LanesOptions lanes;
  // Host names accepted on TCP besides IP literals and "localhost".
  std::vector<std::string> allowed_hosts;
  // If set, every TCP listener serves TLS with it (mutual TLS, tls.h); unix
  // sockets stay plain.
  std::shared_ptr<const TlsAcceptor> tcp_tls;
  // accept() out of fds (EMFILE, ENFILE, ...): pause accepting this long.
  absl::Duration accept_backoff = absl::Milliseconds(100);
  // At most one log line per kind of trouble per interval.
  absl::Duration log_interval = absl::Seconds(10);
  // After an error response, how long unread input is drained before close
  // (so the client reads the response rather than a reset).
  absl::Duration linger = absl::Seconds(1);
};

class HttpServer {
 public:
  // A snapshot; each value only grows, except the *_active/_buffered gauges.
  struct Counters {
    uint64_t connections_accepted = 0;
    uint64_t connections_active = 0;
    uint64_t connections_refused_at_limit = 0;
    uint64_t accept_errors = 0;  // E.g. EMFILE; each pauses accepting.
    uint64_t timeouts_header = 0;
    uint64_t timeouts_body = 0;
    uint64_t timeouts_idle = 0;
    uint64_t timeouts_write = 0;
    uint64_t slow_readers_cut = 0;  // Closed with a response not taken.
    uint64_t requests = 0;
    uint64_t requests_rejected_busy = 0;  // Lane queue full: 503.
    uint64_t requests_rejected_host = 0;  // Host not allowed on TCP: 421.
    uint64_t parse_errors = 0;
    // TLS listeners: closed before the handshake completed (not TLS, no or
    // an untrusted client certificate, the client gave up).
    uint64_t tls_handshake_failures = 0;
    uint64_t output_bytes_buffered = 0;  // Now, over all connections.
    uint64_t log_lines = 0;              // Rate-limited lines written.
    uint64_t log_lines_suppressed = 0;
  };

  // `handler` must outlive the server and be thread-safe; its Lane() runs on
  // the I/O thread and must not block.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(const HttpHandler& handler,
                                                            HttpServerOptions options = {});
  // Stops serving and frees everything; waits for running handlers.
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serves on a unix socket at `path`, replacing a stale socket file there
  // (never another kind of file). The socket is mode 0600. Fails clearly if
  // the path is too long for sockaddr_un or its directory does not exist.
  absl::Status ListenUnix(const std::string& path);
  // Serves on TCP "host:port" (e.g. "127.0.0.1:8080", "[::1]:0"); port 0
  // picks a free port, returned in `bound_port` if given.
  absl::Status ListenTcp(const std::string& host_port, int* bound_port = nullptr);

  // Serves on the calling thread until Stop().
  void Run();
  // Serves on an internal thread (Run()).
  absl::Status Start();
  // Closes every connection and listener at once, drops queued requests,
  // makes Run() return, joins the internal thread and unlinks the unix
  // sockets. Does not wait for running handlers (the destructor does).
  // Thread-safe, idempotent.
  void Stop();

  Counters counters() const;

 private:
  struct Listener;
  struct Connection;
  struct Completion {
    uint64_t connection;
    HttpResponse response;
  };
  struct AtomicCounters;
  enum class Deadline;

  HttpServer(const HttpHandler& handler, HttpServerOptions options, base::UniqueFd epoll,
             base::EventFd wake);

  absl::Status AddListener(base::UniqueFd fd, bool tcp, std::string unix_path);
  void Loop();
  void OnAccept(Listener& listener);
  void OnEvent(Connection& c, uint32_t events);
  void OnReadable(Connection& c);
  void OnHandshake(Connection& c);
  // recv()/send() on the connection, through TLS if it has it: bytes moved,
  // 0 at EOF (Receive only), -1 to wait for epoll (`wait_events`), -2 on an
  // error (close).
  ssize_t Receive(Connection& c, char* buffer, size_t size);
  ssize_t Send(Connection& c, const char* data, size_t size, uint32_t* wait_events);
  void ProcessInput(Connection& c);
  void Dispatch(Connection& c);
  void Respond(Connection& c, const HttpResponse& response);
  void RespondError(Connection& c, int status, absl::string_view message);
  void Flush(Connection& c);
  void WriteDone(Connection& c);
  void StartLinger(Connection& c);
  void Close(Connection& c);
  void OnTimeout(Connection& c);
  void SetDeadline(Connection& c, Deadline kind, absl::Duration after);
  void SetEvents(Connection& c, uint32_t events);
  void PauseAccepting(absl::Time until);
  void ResumeAccepting();
  void TakeCompletions();

  // Logs `message` unless a line of `kind` was logged within log_interval.
  void LogLimited(int kind, const std::string& message);
  void PostCompletion(uint64_t connection, HttpResponse response);

  const HttpHandler& handler_;
  const HttpServerOptions options_;
  base::UniqueFd epoll_;
  base::EventFd wake_;  // Completions and Stop().
  std::unique_ptr<AtomicCounters> counters_;

  // Owned by the I/O thread while it runs.
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::set<std::pair<absl::Time, uint64_t>> deadlines_;  // (when, connection id)
  std::vector<uint64_t> ready_;  // Connections with buffered input to parse.
  uint64_t next_id_;
  absl::Time accept_paused_until_ = absl::InfinitePast();
  bool accept_paused_ = false;
  struct LogState {
    absl::Time last = absl::InfinitePast();
    uint64_t suppressed = 0;
  };
  LogState log_state_[5];

  absl::Mutex completions_mu_;
  std::vector<Completion> completions_ ABSL_GUARDED_BY(completions_mu_);

  std::atomic<bool> stop_requested_{false};
  absl::Mutex stop_mu_;
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
  bool running_ ABSL_GUARDED_BY(stop_mu_) = false;
  absl::Notification loop_done_;
  std::thread thread_ ABSL_GUARDED_BY(stop_mu_);
  std::vector<std::string> unix_paths_;

  // Last: destroyed first, waiting for handlers that still reference us.
  std::unique_ptr<Lanes> lanes_;
};

}  // namespace blimp::gateway

#endif  // BLIMP_GATEWAY_HTTP_SERVER_H_

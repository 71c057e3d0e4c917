#include "gateway/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/errno_status.h"
#include "base/sockets.h"
#include "gateway/fault.h"
#include "gateway/host_check.h"
#include "gateway/http_status.h"
#include "glog/logging.h"

namespace blimp::gateway {

struct HttpServer::AtomicCounters {
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_active{0};
  std::atomic<uint64_t> connections_refused_at_limit{0};
  std::atomic<uint64_t> accept_errors{0};
  std::atomic<uint64_t> timeouts_header{0};
  std::atomic<uint64_t> timeouts_body{0};
  std::atomic<uint64_t> timeouts_idle{0};
  std::atomic<uint64_t> timeouts_write{0};
  std::atomic<uint64_t> slow_readers_cut{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> requests_rejected_busy{0};
  std::atomic<uint64_t> requests_rejected_host{0};
  std::atomic<uint64_t> parse_errors{0};
  std::atomic<uint64_t> tls_handshake_failures{0};
  std::atomic<uint64_t> output_bytes_buffered{0};
  std::atomic<uint64_t> log_lines{0};
  std::atomic<uint64_t> log_lines_suppressed{0};
};

enum class HttpServer::Deadline { kNone, kHeader, kBody, kIdle, kWrite, kLinger };

struct HttpServer::Listener {
  base::UniqueFd fd;
  bool tcp = false;
  int active = 0;  // Open connections accepted here.
};

struct HttpServer::Connection {
  enum class Phase { kReading, kHandling, kWriting, kLingering };

  uint64_t id = 0;
  base::UniqueFd fd;
  Listener* listener = nullptr;
  // TLS listeners: until tls->handshake_done(), events drive the handshake.
  std::unique_ptr<TlsStream> tls;
  Phase phase = Phase::kReading;
  HttpRequestParser parser;
  std::string in;  // Read, not yet given to the parser (pipelined bytes).
  std::string out;
  size_t out_pos = 0;
  uint32_t events = 0;  // Registered with epoll.
  Deadline deadline = Deadline::kNone;
  absl::Time deadline_at = absl::InfiniteFuture();
  bool sent_continue = false;
  bool head = false;
  bool keep_alive = true;
  int minor_version = 1;
  bool close_after_write = false;
};

namespace {

// epoll ids: the eventfd, listeners 1..n, connections from kFirstConnection.
constexpr uint64_t kWakeId = 0;
constexpr uint64_t kFirstConnection = uint64_t{1} << 32;
constexpr size_t kReadChunk = 16 * 1024;
constexpr int kAcceptsPerWakeup = 64;

enum LogKind { kLogAccept = 0, kLogLimit = 1, kLogResponse = 2, kLogEpoll = 3, kLogTls = 4 };

bool HasLineBreak(absl::string_view text) {
  return text.find_first_of("\r\n") != absl::string_view::npos;
}

// A whole response for a connection refused at the limit, sent in one go.
const std::string& LimitResponse() {
  static const std::string* response = [] {
    const std::string body = "{\"fault_message\":\"too many connections; try again later\"}";
    return new std::string(
        absl::StrCat("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                     "Content-Length: ",
                     body.size(), "\r\nConnection: close\r\n\r\n", body));
  }();
  return *response;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(const HttpHandler& handler,
                                                               HttpServerOptions options) {
  if (options.max_connections <= 0 || options.lanes.concurrency <= 0 ||
      options.lanes.max_threads <= 0 || options.max_output_bytes == 0) {
    return absl::InvalidArgumentError(
        "max_connections, lane concurrency, max_threads and max_output_bytes must be positive");
  }
  base::UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll.valid()) return base::ErrnoStatus("epoll_create1");
  absl::StatusOr<base::EventFd> wake = base::EventFd::Create();
  if (!wake.ok()) return wake.status();
  epoll_event event = {};
  event.events = EPOLLIN;
  event.data.u64 = kWakeId;
  if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wake->fd(), &event) != 0) {
    return base::ErrnoStatus("epoll_ctl(eventfd)");
  }
  return std::unique_ptr<HttpServer>(
      new HttpServer(handler, std::move(options), std::move(epoll), *std::move(wake)));
}

HttpServer::HttpServer(const HttpHandler& handler, HttpServerOptions options, base::UniqueFd epoll,
                       base::EventFd wake)
    : handler_(handler),
      options_(std::move(options)),
      epoll_(std::move(epoll)),
      wake_(std::move(wake)),
      counters_(std::make_unique<AtomicCounters>()),
      next_id_(kFirstConnection),
      lanes_(std::make_unique<Lanes>(options_.lanes)) {}

HttpServer::~HttpServer() {
  Stop();
  lanes_.reset();  // Waits for running handlers: they post to us.
}

HttpServer::Counters HttpServer::counters() const {
  const AtomicCounters& a = *counters_;
  Counters c;
  c.connections_accepted = a.connections_accepted.load();
  c.connections_active = a.connections_active.load();
  c.connections_refused_at_limit = a.connections_refused_at_limit.load();
  c.accept_errors = a.accept_errors.load();
  c.timeouts_header = a.timeouts_header.load();
  c.timeouts_body = a.timeouts_body.load();
  c.timeouts_idle = a.timeouts_idle.load();
  c.timeouts_write = a.timeouts_write.load();
  c.slow_readers_cut = a.slow_readers_cut.load();
  c.requests = a.requests.load();
  c.requests_rejected_busy = a.requests_rejected_busy.load();
  c.requests_rejected_host = a.requests_rejected_host.load();
  c.parse_errors = a.parse_errors.load();
  c.tls_handshake_failures = a.tls_handshake_failures.load();
  c.output_bytes_buffered = a.output_bytes_buffered.load();
  c.log_lines = a.log_lines.load();
  c.log_lines_suppressed = a.log_lines_suppressed.load();
  return c;
}

absl::Status HttpServer::AddListener(base::UniqueFd fd, bool tcp, std::string unix_path) {
  {
    absl::MutexLock lock(&stop_mu_);
    if (running_ || stopped_) {
      return absl::FailedPreconditionError("Listen* must be called before Start()/Run()");
    }
  }
  auto listener = std::make_unique<Listener>();
  listener->fd = std::move(fd);
  listener->tcp = tcp;
  epoll_event event = {};
  event.events = EPOLLIN;
  event.data.u64 = listeners_.size() + 1;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener->fd.get(), &event) != 0) {
    return base::ErrnoStatus("epoll_ctl(listener)");
  }
  listeners_.push_back(std::move(listener));
  if (!unix_path.empty()) unix_paths_.push_back(std::move(unix_path));
  return absl::OkStatus();
}

absl::Status HttpServer::ListenUnix(const std::string& path) {
  absl::StatusOr<base::UniqueFd> fd = base::ListenUnix(path);
  if (!fd.ok()) return fd.status();
  if (absl::Status added = AddListener(*std::move(fd), false, path); !added.ok()) {
    ::unlink(path.c_str());
    return added;
  }
  LOG(INFO) << "gateway: serving HTTP on unix:" << path;
  return absl::OkStatus();
}

absl::Status HttpServer::ListenTcp(const std::string& host_port, int* bound_port) {
  int port = 0;
  absl::StatusOr<base::UniqueFd> fd = base::ListenTcp(host_port, &port);
  if (!fd.ok()) return fd.status();
  if (absl::Status added = AddListener(*std::move(fd), true, ""); !added.ok()) return added;
  if (bound_port != nullptr) *bound_port = port;
  LOG(INFO) << "gateway: serving " << (options_.tcp_tls ? "HTTPS (mutual TLS)" : "HTTP")
            << " on tcp:" << host_port << " (port " << port << ")";
  return absl::OkStatus();
}

void HttpServer::Run() {
  {
    absl::MutexLock lock(&stop_mu_);
    if (stopped_ || running_) return;
    running_ = true;
  }
  Loop();
}

absl::Status HttpServer::Start() {
  absl::MutexLock lock(&stop_mu_);
  if (stopped_) return absl::FailedPreconditionError("the HTTP server was stopped");
  if (running_) return absl::FailedPreconditionError("the HTTP server already runs");
  running_ = true;
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void HttpServer::Stop() {
  std::thread thread;
  bool was_running;
  {
    absl::MutexLock lock(&stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    was_running = running_;
    thread = std::move(thread_);
  }
  stop_requested_.store(true);
  if (absl::Status woken = wake_.Write(1); !woken.ok()) {
    LOG(ERROR) << "gateway: cannot wake the HTTP server: " << woken;
  }
  if (thread.joinable()) thread.join();
  if (was_running) loop_done_.WaitForNotification();
  // The loop (if it ran) closed the connections; the listeners go now.
  lanes_->Shutdown();
  listeners_.clear();
  for (const std::string& path : unix_paths_) ::unlink(path.c_str());
}

void HttpServer::PostCompletion(uint64_t connection, HttpResponse response) {
  {
    absl::MutexLock lock(&completions_mu_);
    completions_.push_back(Completion{connection, std::move(response)});
  }
  if (absl::Status woken = wake_.Write(1); !woken.ok()) {
    LOG(ERROR) << "gateway: cannot wake the HTTP server: " << woken;
  }
}

void HttpServer::LogLimited(int kind, const std::string& message) {
  LogState& state = log_state_[kind];
  const absl::Time now = absl::Now();
  if (now - state.last < options_.log_interval) {
    ++state.suppressed;
    counters_->log_lines_suppressed.fetch_add(1);
    return;
  }
  if (state.suppressed > 0) {
    LOG(WARNING) << "gateway: " << message << " (and " << state.suppressed
                 << " similar messages in the last " << absl::FormatDuration(now - state.last)
                 << ")";
  } else {
    LOG(WARNING) << "gateway: " << message;
  }
  state.last = now;
  state.suppressed = 0;
  counters_->log_lines.fetch_add(1);
}

void HttpServer::Loop() {
  epoll_event events[64];
  while (!stop_requested_.load()) {
    int timeout_ms = -1;
    absl::Time next = deadlines_.empty() ? absl::InfiniteFuture() : deadlines_.begin()->first;
    if (accept_paused_) next = std::min(next, accept_paused_until_);
    if (!ready_.empty()) {
      timeout_ms = 0;
    } else if (next != absl::InfiniteFuture()) {
      const absl::Duration wait = std::max(next - absl::Now(), absl::ZeroDuration());
      timeout_ms = static_cast<int>(std::min<int64_t>(
          absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))), 60 * 1000));
    }
    const int n = ::epoll_wait(epoll_.get(), events, 64, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      LogLimited(kLogEpoll, absl::StrCat("epoll_wait: ", std::strerror(errno)));
      absl::SleepFor(absl::Milliseconds(10));  // Never spin on a broken epoll.
      continue;
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[i].data.u64;
      if (id == kWakeId) {
        (void)wake_.Read();
        TakeCompletions();
      } else if (id < kFirstConnection) {
        if (!accept_paused_) OnAccept(*listeners_[id - 1]);
      } else if (auto it = connections_.find(id); it != connections_.end()) {
        OnEvent(*it->second, events[i].events);
      }
    }
    // Connections whose pipelined input waits for the parser.
    std::vector<uint64_t> ready;
    ready.swap(ready_);
    for (uint64_t id : ready) {
      auto it = connections_.find(id);
      if (it == connections_.end() || it->second->phase != Connection::Phase::kReading) continue;
      ProcessInput(*it->second);
      // Then input OpenSSL holds (may close the connection: look it up again).
      it = connections_.find(id);
      if (it == connections_.end() || it->second->phase != Connection::Phase::kReading) continue;
      if (it->second->tls && it->second->tls->HasPending()) OnReadable(*it->second);
    }
    const absl::Time now = absl::Now();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      const uint64_t id = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      auto it = connections_.find(id);
      if (it == connections_.end()) continue;
      it->second->deadline_at = absl::InfiniteFuture();
      OnTimeout(*it->second);
    }
    if (accept_paused_ && now >= accept_paused_until_) ResumeAccepting();
  }
  // Stop(): every connection goes now; queued requests are dropped.
  lanes_->Shutdown();
  while (!connections_.empty()) Close(*connections_.begin()->second);
  deadlines_.clear();
  loop_done_.Notify();
}

void HttpServer::PauseAccepting(absl::Time until) {
  accept_paused_until_ = until;
  if (accept_paused_) return;
  accept_paused_ = true;
  for (size_t i = 0; i < listeners_.size(); ++i) {
    epoll_event event = {};
    event.events = 0;
    event.data.u64 = i + 1;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, listeners_[i]->fd.get(), &event);
  }
}

void HttpServer::ResumeAccepting() {
  accept_paused_ = false;
  for (size_t i = 0; i < listeners_.size(); ++i) {
    epoll_event event = {};
    event.events = EPOLLIN;
    event.data.u64 = i + 1;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, listeners_[i]->fd.get(), &event);
  }
}

void HttpServer::OnAccept(Listener& listener) {
  for (int i = 0; i < kAcceptsPerWakeup; ++i) {
    base::UniqueFd fd(::accept4(listener.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) {
      const int error = errno;
      if (error == EAGAIN || error == EWOULDBLOCK) return;
      if (error == EINTR || error == ECONNABORTED || error == EPROTO) continue;
      // EMFILE, ENFILE, ENOBUFS, ENOMEM, ...: the pending connection stays in
      // the backlog and the listener stays readable: pause, never spin.
      counters_->accept_errors.fetch_add(1);
      PauseAccepting(absl::Now() + options_.accept_backoff);
      LogLimited(kLogAccept, absl::StrCat("accept(): ", std::strerror(error), "; pausing for ",
                                          absl::FormatDuration(options_.accept_backoff)));
      return;
    }
    counters_->connections_accepted.fetch_add(1);
    if (listener.active >= options_.max_connections) {
      counters_->connections_refused_at_limit.fetch_add(1);
      // A TLS client could not read a plaintext 503: it is just closed.
      if (!(listener.tcp && options_.tcp_tls)) {
        const std::string& response = LimitResponse();
        (void)::send(fd.get(), response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      }
      LogLimited(kLogLimit, absl::StrCat("refusing connections: ", options_.max_connections,
                                         " are open on one listener"));
      continue;  // Closed by UniqueFd.
    }
    if (listener.tcp) {
      const int one = 1;
      ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    auto connection = std::make_unique<Connection>();
    Connection& c = *connection;
    c.id = next_id_++;
    c.fd = std::move(fd);
    c.listener = &listener;
    c.parser = HttpRequestParser(options_.limits);
    if (listener.tcp && options_.tcp_tls) {
      absl::StatusOr<std::unique_ptr<TlsStream>> tls = options_.tcp_tls->Accept(c.fd.get());
      if (!tls.ok()) {
        LogLimited(kLogTls, absl::StrCat("TLS: ", tls.status().message()));
        continue;
      }
      c.tls = *std::move(tls);
    }
    epoll_event event = {};
    event.events = EPOLLIN;
    event.data.u64 = c.id;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c.fd.get(), &event) != 0) {
      LogLimited(kLogAccept, absl::StrCat("epoll_ctl(connection): ", std::strerror(errno)));
      continue;
    }
    c.events = EPOLLIN;
    ++listener.active;
    counters_->connections_active.fetch_add(1);
    connections_.emplace(c.id, std::move(connection));
    // A new connection must send its headers within header_timeout (on TLS:
    // the handshake too).
    SetDeadline(c, Deadline::kHeader, options_.header_timeout);
  }
}

void HttpServer::SetDeadline(Connection& c, Deadline kind, absl::Duration after) {
  if (c.deadline_at != absl::InfiniteFuture()) deadlines_.erase({c.deadline_at, c.id});
  c.deadline = kind;
  c.deadline_at = kind == Deadline::kNone ? absl::InfiniteFuture() : absl::Now() + after;
  if (c.deadline_at != absl::InfiniteFuture()) deadlines_.insert({c.deadline_at, c.id});
}

void HttpServer::SetEvents(Connection& c, uint32_t events) {
  if (c.events == events) return;
  epoll_event event = {};
  event.events = events;
  event.data.u64 = c.id;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &event) == 0) c.events = events;
}

void HttpServer::OnEvent(Connection& c, uint32_t events) {
  if (events & (EPOLLERR | EPOLLHUP)) {
    if (c.tls && !c.tls->handshake_done()) counters_->tls_handshake_failures.fetch_add(1);
    Close(c);  // Reset or gone both ways: nobody would read a response.
    return;
  }
  if (c.tls && !c.tls->handshake_done()) {
    OnHandshake(c);
    return;
  }
  if ((events & EPOLLOUT) && c.out_pos < c.out.size()) {
    const uint64_t id = c.id;
    Flush(c);
    if (connections_.find(id) == connections_.end()) return;
  }
  if (events & EPOLLIN) OnReadable(c);
}

void HttpServer::OnHandshake(Connection& c) {
  switch (c.tls->Handshake()) {
    case TlsResult::kWantRead:
      SetEvents(c, EPOLLIN);
      return;
    case TlsResult::kWantWrite:
      SetEvents(c, EPOLLOUT);
      return;
    case TlsResult::kDone:
      SetEvents(c, EPOLLIN);
      // A request that came with the last handshake flight is in OpenSSL's
      // buffer, where epoll cannot see it.
      if (c.tls->HasPending()) ready_.push_back(c.id);
      return;
    case TlsResult::kClosed:
    case TlsResult::kError:
      counters_->tls_handshake_failures.fetch_add(1);
      LogLimited(kLogTls, absl::StrCat("TLS handshake failed: ", c.tls->error()));
      Close(c);
      return;
  }
}

ssize_t HttpServer::Receive(Connection& c, char* buffer, size_t size) {
  // Lingering input is dropped unread: no need to decrypt it.
  if (!c.tls || c.phase == Connection::Phase::kLingering) {
    const ssize_t n = ::recv(c.fd.get(), buffer, size, MSG_DONTWAIT);
    if (n >= 0) return n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : -2;
  }
  size_t n = 0;
  switch (c.tls->Read(buffer, size, &n)) {
    case TlsResult::kDone:
      return static_cast<ssize_t>(n);
    case TlsResult::kWantRead:
      return -1;
    case TlsResult::kClosed:
      return 0;
    case TlsResult::kWantWrite:  // Only renegotiation wants it, and that is off.
    case TlsResult::kError:
      return -2;
  }
  return -2;
}

ssize_t HttpServer::Send(Connection& c, const char* data, size_t size, uint32_t* wait_events) {
  const uint32_t writable =
      c.phase == Connection::Phase::kReading ? (EPOLLOUT | EPOLLIN) : uint32_t{EPOLLOUT};
  if (!c.tls) {
    while (true) {
      const ssize_t n = ::send(c.fd.get(), data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -2;
      *wait_events = writable;
      return -1;
    }
  }
  size_t n = 0;
  switch (c.tls->Write(data, size, &n)) {
    case TlsResult::kDone:
      return static_cast<ssize_t>(n);
    case TlsResult::kWantWrite:
      *wait_events = writable;
      return -1;
    case TlsResult::kWantRead:  // Renegotiation only (off): never wait on it.
    case TlsResult::kClosed:
    case TlsResult::kError:
      return -2;
  }
  return -2;
}

void HttpServer::OnReadable(Connection& c) {
  char buffer[kReadChunk];
  const ssize_t n = Receive(c, buffer, sizeof(buffer));
  if (n == -1) return;
  if (n < 0) {
    Close(c);
    return;
  }
  if (n == 0) {
    Close(c);  // The client is done (mid-request or between requests).
    return;
  }
  if (c.phase == Connection::Phase::kLingering) return;  // Drained and dropped.
  if (c.phase != Connection::Phase::kReading) {
    // Not reading in these phases (EPOLLIN is off); keep the bytes in order.
    c.in.append(buffer, n);
    return;
  }
  c.in.append(buffer, n);
  // More decrypted input than one read took: epoll would not say so.
  if (c.tls && c.tls->HasPending()) ready_.push_back(c.id);
  ProcessInput(c);
}

void HttpServer::ProcessInput(Connection& c) {
  if (c.in.empty()) return;
  if (!c.parser.started() && c.deadline != Deadline::kHeader) {
    SetDeadline(c, Deadline::kHeader, options_.header_timeout);  // From the first byte.
  }
  const size_t used = c.parser.Consume(c.in);
  c.in.erase(0, used);
  if (c.parser.failed()) {
    counters_->parse_errors.fetch_add(1);
    c.keep_alive = false;
    RespondError(c, c.parser.error_status(), c.parser.error_message());
    return;
  }
  if (c.parser.done()) {
    Dispatch(c);
    return;
  }
  if (c.parser.headers_done()) {
    if (c.deadline != Deadline::kBody) SetDeadline(c, Deadline::kBody, options_.body_timeout);
    if (c.parser.request().expect_continue && !c.sent_continue) {
      c.sent_continue = true;
      c.out += "HTTP/1.1 100 Continue\r\n\r\n";
      counters_->output_bytes_buffered.fetch_add(25);
      Flush(c);
    }
  }
}

void HttpServer::Dispatch(Connection& c) {
  ParsedRequest& parsed = c.parser.mutable_request();
  counters_->requests.fetch_add(1);
  c.keep_alive = parsed.keep_alive;
  c.minor_version = parsed.minor_version;
  c.head = parsed.method == "HEAD";
  if (c.listener->tcp && !HostAllowed(parsed.host, options_.allowed_hosts)) {
    counters_->requests_rejected_host.fetch_add(1);
    c.keep_alive = false;
    RespondError(c, 421,
                 parsed.host.has_value()
                     ? absl::StrCat("Host '", *parsed.host,
                                    "' is not served here (an IP address, localhost or an "
                                    "allowed host name)")
                     : "a Host header is required");
    return;
  }
  HttpRequest request;
  request.method = c.head ? "GET" : std::move(parsed.method);
  request.path = std::move(parsed.path);
  request.body = std::move(parsed.body);
  c.parser.Reset();
  const std::string lane = handler_.Lane(request);
  c.phase = Connection::Phase::kHandling;
  SetDeadline(c, Deadline::kNone, absl::ZeroDuration());  // Handlers bound themselves.
  SetEvents(c, 0);                                        // Pipelined bytes wait in the kernel.
  const uint64_t id = c.id;
  const HttpHandler* handler = &handler_;
  const bool queued = lanes_->Submit(lane, [this, handler, id, request = std::move(request)] {
    PostCompletion(id, handler->Handle(request));
  });
  if (!queued) {
    counters_->requests_rejected_busy.fetch_add(1);
    Respond(c,
            Fault(503, lane.empty()
                           ? std::string("the server is busy: too many requests are waiting")
                           : absl::StrCat("VM '", lane, "' is busy: ", options_.lanes.queue_limit,
                                          " requests to it are already waiting")));
  }
}

void HttpServer::TakeCompletions() {
  std::vector<Completion> done;
  {
    absl::MutexLock lock(&completions_mu_);
    done.swap(completions_);
  }
  for (Completion& completion : done) {
    auto it = connections_.find(completion.connection);
    if (it == connections_.end() || it->second->phase != Connection::Phase::kHandling) continue;
    Respond(*it->second, completion.response);
  }
}

void HttpServer::RespondError(Connection& c, int status, absl::string_view message) {
  Respond(c, Fault(status, message));
}

void HttpServer::Respond(Connection& c, const HttpResponse& response) {
  const bool close = !c.keep_alive || stop_requested_.load();
  const bool no_body = response.status == 204 || response.status == 304 ||
                       (response.status >= 100 && response.status < 200);
  std::string head =
      absl::StrCat("HTTP/1.1 ", response.status, " ", ReasonPhrase(response.status), "\r\n");
  if (!response.body.empty() && !no_body) {
    absl::StrAppend(&head, "Content-Type: ",
                    response.content_type.empty() ? kJsonContentType : response.content_type,
                    "\r\n");
  }
  for (const auto& [name, value] : response.headers) {
    if (HasLineBreak(name) || HasLineBreak(value)) {
      LogLimited(kLogResponse, absl::StrCat("dropping response header '", absl::CEscape(name),
                                            "' with a line break"));
      continue;
    }
    absl::StrAppend(&head, name, ": ", value, "\r\n");
  }
  if (!no_body) absl::StrAppend(&head, "Content-Length: ", response.body.size(), "\r\n");
  if (close) {
    absl::StrAppend(&head, "Connection: close\r\n");
  } else if (c.minor_version == 0) {
    absl::StrAppend(&head, "Connection: keep-alive\r\n");
  }
  absl::StrAppend(&head, "\r\n");
  const bool send_body = !c.head && !no_body;
  const size_t size =
      c.out.size() - c.out_pos + head.size() + (send_body ? response.body.size() : 0);
  if (size > options_.max_output_bytes) {
    LogLimited(kLogResponse, absl::StrCat("a ", response.status, " response of ", size,
                                          " bytes is over the output limit of ",
                                          options_.max_output_bytes, " bytes"));
    Respond(c, Fault(500, absl::StrCat("the response is larger than ", options_.max_output_bytes,
                                       " bytes")));
    return;
  }
  c.out += head;
  if (send_body) c.out += response.body;
  counters_->output_bytes_buffered.fetch_add(head.size() + (send_body ? response.body.size() : 0));
  c.close_after_write = close;
  c.phase = Connection::Phase::kWriting;
  SetDeadline(c, Deadline::kWrite, options_.write_timeout);
  Flush(c);
}

void HttpServer::Flush(Connection& c) {
  while (c.out_pos < c.out.size()) {
    uint32_t wait_events = 0;
    const ssize_t n = Send(c, c.out.data() + c.out_pos, c.out.size() - c.out_pos, &wait_events);
    if (n == -1) {
      SetEvents(c, wait_events);
      return;
    }
    if (n < 0) {
      Close(c);
      return;
    }
    c.out_pos += n;
    counters_->output_bytes_buffered.fetch_sub(n);
  }
  c.out.clear();
  c.out_pos = 0;
  if (c.phase == Connection::Phase::kWriting) {
    WriteDone(c);
  } else if (c.phase == Connection::Phase::kReading) {
    SetEvents(c, EPOLLIN);
  }
}

void HttpServer::WriteDone(Connection& c) {
  if (c.close_after_write) {
    StartLinger(c);
    return;
  }
  c.phase = Connection::Phase::kReading;
  c.sent_continue = false;
  SetEvents(c, EPOLLIN);
  SetDeadline(c, Deadline::kIdle, options_.idle_timeout);
  // Parsed from the loop, not recursively.
  if (!c.in.empty() || (c.tls && c.tls->HasPending())) ready_.push_back(c.id);
}

void HttpServer::StartLinger(Connection& c) {
  // Half-close and drain what the client still sends, so that it reads our
  // response instead of a reset; then close. TLS says close_notify first.
  if (c.tls) c.tls->Shutdown();
  ::shutdown(c.fd.get(), SHUT_WR);
  c.phase = Connection::Phase::kLingering;
  c.in.clear();
  SetEvents(c, EPOLLIN);
  SetDeadline(c, Deadline::kLinger, options_.linger);
}

void HttpServer::OnTimeout(Connection& c) {
  switch (c.deadline) {
    case Deadline::kHeader:
      counters_->timeouts_header.fetch_add(1);
      break;
    case Deadline::kBody:
      counters_->timeouts_body.fetch_add(1);
      break;
    case Deadline::kIdle:
      counters_->timeouts_idle.fetch_add(1);
      break;
    case Deadline::kWrite:
      counters_->timeouts_write.fetch_add(1);
      counters_->slow_readers_cut.fetch_add(1);
      break;
    case Deadline::kLinger:
    case Deadline::kNone:
      break;
  }
  c.deadline = Deadline::kNone;
  Close(c);
}

void HttpServer::Close(Connection& c) {
  if (c.deadline_at != absl::InfiniteFuture()) deadlines_.erase({c.deadline_at, c.id});
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
  counters_->output_bytes_buffered.fetch_sub(c.out.size() - c.out_pos);
  --c.listener->active;
  counters_->connections_active.fetch_sub(1);
  connections_.erase(c.id);  // Closes the fd; `c` is gone.
}

}  // namespace blimp::gateway

#include "vmm/control/control_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "base/status_macros.h"
#include "glog/logging.h"
#include "vmm/control/framing.h"
#include "vmm/control/response_status.h"

namespace blimp::vmm::control {
namespace {

// Requests may arrive at any time; a blocked read is ended by Stop()
// shutting the socket down.
constexpr absl::Duration kReadSlice = absl::Hours(1);
// How often a watch checks that the client is still there and the VM runs.
constexpr absl::Duration kWatchSlice = absl::Milliseconds(200);

// True if the peer has closed `fd` or sent something (a watch expects
// silence); does not block.
bool PeerClosedOrSpoke(int fd) {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0;
}

// True if the peer has closed its end: nothing sent on `fd` can reach it.
bool PeerHungUp(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP)) != 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Start(const std::string& path,
                                                                   ControlHandler& handler,
                                                                   ControlServerOptions options) {
  ASSIGN_OR_RETURN(base::UniqueFd listener, ListenSeqpacket(path, 16));
  ASSIGN_OR_RETURN(base::EventFd stop, base::EventFd::Create());
  std::unique_ptr<ControlServer> server(new ControlServer(
      path, handler, options, std::move(listener), std::move(stop)));

  server->accept_thread_ = std::thread([raw = server.get()] { raw->AcceptLoop(); });
  return server;
}

ControlServer::ControlServer(std::string path, ControlHandler& handler,
                             ControlServerOptions options, base::UniqueFd listener,
                             base::EventFd stop)
    : path_(std::move(path)),
      handler_(handler),
      options_(options),
      listener_(std::move(listener)),
      stop_(std::move(stop)) {}

ControlServer::~ControlServer() { Stop(); }

void ControlServer::Stop() {
  std::vector<std::unique_ptr<Connection>> connections;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    // Wakes every connection thread out of its read or watch.
    for (auto& connection : connections_) ::shutdown(connection->fd.get(), SHUT_RDWR);
  }
  stop_.Write().IgnoreError();
  accept_thread_.join();
  {
    absl::MutexLock lock(&mu_);
    connections.swap(connections_);
  }
  for (auto& connection : connections) connection->thread.join();
  ::unlink(path_.c_str());
}

int ControlServer::connection_count() {
  absl::MutexLock lock(&mu_);
  ReapLocked();
  return static_cast<int>(connections_.size());
}

int ControlServer::refused_count() {
  absl::MutexLock lock(&mu_);
  return refused_;
}

void ControlServer::ReapLocked() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if ((*it)->done) {
      (*it)->thread.join();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void ControlServer::AcceptLoop() {
  while (true) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_.fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      PLOG(ERROR) << "control server: poll";
      return;
    }
    if (fds[1].revents != 0) return;
    base::UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd.valid()) {
      // EMFILE and friends: do not spin; the next poll retries.
      if (errno != EAGAIN && errno != EINTR) ::usleep(100 * 1000);
      continue;
    }
    // A client that gave up while this process was stopped (SIGSTOP, a long
    // pause) has closed its connection waiting in the backlog: nobody would
    // read its answer, so it takes no slot from the live ones behind it.
    if (PeerHungUp(fd.get())) continue;
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    ReapLocked();
    int open = 0;
    for (const auto& connection : connections_) open += PeerHungUp(connection->fd.get()) ? 0 : 1;
    if (open >= options_.max_connections) {
      ++refused_;
      if (absl::Now() - last_refusal_log_ > absl::Seconds(10)) {
        LOG(WARNING) << "control server: " << options_.max_connections
                     << " connections open, refusing more (" << refused_ << " so far)";
        last_refusal_log_ = absl::Now();
      }
      continue;  // `fd` closes here.
    }
    auto connection = std::make_unique<Connection>();
    connection->fd = std::move(fd);
    Connection* raw = connection.get();
    connections_.push_back(std::move(connection));
    raw->thread = std::thread([this, raw] { Serve(raw); });
  }
}

void ControlServer::Serve(Connection* connection) {
  const int fd = connection->fd.get();
  while (true) {
    Request request;
    absl::Status received = ReceiveFrame(fd, &request, absl::Now() + kReadSlice);
    if (received.code() == absl::StatusCode::kDeadlineExceeded) continue;  // Idle is fine.
    if (!received.ok()) {
      if (received.code() != absl::StatusCode::kUnavailable) {
        LOG(WARNING) << "control server: dropping a client: " << received;
      }
      break;
    }
    if (request.has_watch_statistics()) {
      Watch(fd, request.id());
      break;
    }
    absl::Status sent =
        SendFrame(fd, handler_.Handle(request), absl::Now() + options_.send_timeout);
    if (!sent.ok()) {
      LOG(WARNING) << "control server: dropping a client: " << sent;
      break;
    }
  }
  ::shutdown(fd, SHUT_RDWR);
  absl::MutexLock lock(&mu_);
  connection->done = true;
}

void ControlServer::Watch(int fd, uint64_t id) {
  absl::StatusOr<RunningVm*> source = handler_.WatchSource();
  if (!source.ok()) {
    SendFrame(fd, ErrorResponse(id, source.status()), absl::Now() + options_.send_timeout)
        .IgnoreError();
    return;
  }
  RunningVm* vm = *source;
  BalloonSnapshot snapshot = vm->GetBalloon();
  uint64_t seen = snapshot.stats_generation;
  Response update;
  update.set_id(id);
  *update.mutable_stats() = StatsToProto(snapshot);
  while (true) {
    if (absl::Status sent = SendFrame(fd, update, absl::Now() + options_.send_timeout);
        !sent.ok()) {
      LOG(WARNING) << "control server: ending a statistics watch: " << sent;
      return;
    }
    while (true) {
      const uint64_t now = vm->WaitForStats(seen, kWatchSlice);
      if (vm->exit_reason()) {
        SendFrame(fd, ErrorResponse(id, absl::UnavailableError("the VM stopped")),
                  absl::Now() + options_.send_timeout)
            .IgnoreError();
        return;
      }
      if (PeerClosedOrSpoke(fd)) return;
      if (now != seen) {
        seen = now;
        break;
      }
    }
    *update.mutable_stats() = StatsToProto(vm->GetBalloon());
  }
}

}  // namespace blimp::vmm::control

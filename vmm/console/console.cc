#include "vmm/console/console.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "base/errno_status.h"
#include "base/status_macros.h"
#include "base/sockets.h"
#include "glog/logging.h"

namespace blimp::vmm {
namespace {

absl::Status SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return base::ErrnoStatus("fcntl(O_NONBLOCK)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<Console>> Console::Create(base::EventLoop& loop,
                                                         base::UniqueFd output,
                                                         base::UniqueFd input,
                                                         ConsoleOptions options) {
  ASSIGN_OR_RETURN(ConsoleLog log,
                   ConsoleLog::Open(options.log_path, options.max_log_bytes, options.counters));
  std::shared_ptr<Console> console(new Console(loop, std::move(options)));
  RETURN_IF_ERROR(SetNonBlocking(output.get()));
  RETURN_IF_ERROR(SetNonBlocking(input.get()));
  ASSIGN_OR_RETURN(base::UniqueFd listener, base::ListenUnix(console->options_.socket_path));
  {
    absl::MutexLock lock(&console->mu_);
    console->output_ = std::move(output);
    console->input_ = std::move(input);
    console->log_ = std::move(log);
    console->listener_ = std::move(listener);
  }
  RETURN_IF_ERROR(console->Watch());
  return console;
}

Console::~Console() { Close(); }

absl::Status Console::Watch() {
  std::weak_ptr<Console> weak = weak_from_this();
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(loop_.Add(output_.get(), EPOLLIN, [weak](uint32_t) {
    if (auto self = weak.lock()) self->OnOutput();
  }));
  return loop_.Add(listener_.get(), EPOLLIN, [weak](uint32_t) {
    if (auto self = weak.lock()) self->OnAccept();
  });
}

bool Console::DrainOutputLocked() {
  char buffer[4096];
  while (output_.valid()) {
    ssize_t n = ::read(output_.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    if (n <= 0) return false;
    if (log_) log_->Append(buffer, static_cast<size_t>(n));
    for (size_t i = 0; i < clients_.size();) {
      if (!SendLocked(*clients_[i], buffer, static_cast<size_t>(n))) {
        RemoveClientLocked(clients_[i]->fd.get());
        continue;
      }
      ++i;
    }
  }
  return false;
}

bool Console::SendLocked(Client& client, const char* data, size_t size) {
  constexpr size_t kMaxPending = 1 << 20;
  client.pending.append(data, size);
  if (client.pending.size() > kMaxPending) {
    // A client too slow to keep up loses output rather than stall the VM.
    client.pending.erase(0, client.pending.size() - kMaxPending);
  }
  while (!client.pending.empty()) {
    ssize_t sent = ::send(client.fd.get(), client.pending.data(), client.pending.size(),
                          MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && errno == EAGAIN) break;
    if (sent < 0) return false;
    client.pending.erase(0, static_cast<size_t>(sent));
  }
  WatchClientLocked(client, !client.pending.empty());
  return true;
}

void Console::WatchClientLocked(Client& client, bool want_write) {
  if (client.want_write == want_write) return;
  client.want_write = want_write;
  const int fd = client.fd.get();
  loop_.Remove(fd).IgnoreError();
  std::weak_ptr<Console> weak = weak_from_this();
  absl::Status added = loop_.Add(
      fd, EPOLLIN | EPOLLRDHUP | (want_write ? EPOLLOUT : 0u), [weak, fd](uint32_t events) {
        if (auto self = weak.lock()) self->OnClient(fd, events);
      });
  if (!added.ok()) LOG(WARNING) << "console client: " << added;
}

void Console::OnOutput() {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  if (!DrainOutputLocked() && output_.valid()) {
    loop_.Remove(output_.get()).IgnoreError();
    output_.Reset();
  }
}

void Console::OnAccept() {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  while (true) {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    std::weak_ptr<Console> weak = weak_from_this();
    absl::Status added = loop_.Add(fd, EPOLLIN | EPOLLRDHUP, [weak, fd](uint32_t events) {
      if (auto self = weak.lock()) self->OnClient(fd, events);
    });
    if (!added.ok()) {
      LOG(WARNING) << "console client: " << added;
      ::close(fd);
      continue;
    }
    auto client = std::make_unique<Client>();
    client->fd.Reset(fd);
    clients_.push_back(std::move(client));
  }
}

void Console::OnClient(int fd, uint32_t events) {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  if (events & EPOLLOUT) {
    for (auto& client : clients_) {
      if (client->fd.get() == fd && !SendLocked(*client, "", 0)) {
        RemoveClientLocked(fd);
        return;
      }
    }
  }
  char buffer[4096];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      RemoveClientLocked(fd);
      return;
    }
    // Input the guest cannot take right now is dropped, as on a real UART.
    if (input_.valid() && ::write(input_.get(), buffer, static_cast<size_t>(n)) < 0 &&
        errno == EPIPE) {
      input_.Reset();
    }
  }
  if (events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) RemoveClientLocked(fd);
}

void Console::RemoveClientLocked(int fd) {
  auto it = std::find_if(clients_.begin(), clients_.end(),
                         [fd](const auto& client) { return client->fd.get() == fd; });
  if (it == clients_.end()) return;
  loop_.Remove(fd).IgnoreError();
  clients_.erase(it);
}

void Console::Close() {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  DrainOutputLocked();
  closed_ = true;
  if (output_.valid()) loop_.Remove(output_.get()).IgnoreError();
  if (listener_.valid()) loop_.Remove(listener_.get()).IgnoreError();
  for (const auto& client : clients_) {
    loop_.Remove(client->fd.get()).IgnoreError();
    if (client->pending.empty()) continue;
    // Last output for clients still reading: a bounded blocking flush.
    int flags = ::fcntl(client->fd.get(), F_GETFL);
    ::fcntl(client->fd.get(), F_SETFL, flags & ~O_NONBLOCK);
    timeval timeout{0, 200 * 1000};
    ::setsockopt(client->fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    const std::string& pending = client->pending;
    for (size_t done = 0; done < pending.size();) {
      ssize_t n = ::send(client->fd.get(), pending.data() + done, pending.size() - done,
                         MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
  }
  clients_.clear();
  output_.Reset();
  input_.Reset();
  listener_.Reset();
  log_.reset();
  ::unlink(options_.socket_path.c_str());
}

int Console::client_count() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(clients_.size());
}

}  // namespace blimp::vmm

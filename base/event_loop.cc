#include "base/event_loop.h"

#include <sys/epoll.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "base/errno_status.h"
#include "base/status_macros.h"

namespace blimp::base {

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create() {
  int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0) return ErrnoStatus("epoll_create1");
  UniqueFd epoll_fd(epoll);
  ASSIGN_OR_RETURN(EventFd wakeup, EventFd::Create());
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = wakeup.fd();
  if (::epoll_ctl(epoll, EPOLL_CTL_ADD, wakeup.fd(), &event) < 0) {
    return ErrnoStatus("epoll_ctl(wakeup)");
  }
  return std::unique_ptr<EventLoop>(
      new EventLoop(std::move(epoll_fd), std::move(wakeup)));
}

absl::Status EventLoop::Add(int fd, uint32_t events, Callback callback) {
  absl::MutexLock lock(&mu_);
  if (fd < 0 || fd == wakeup_.fd() || watches_.contains(fd)) {
    return absl::InvalidArgumentError(
        absl::StrCat("fd ", fd, " cannot be added to the event loop"));
  }
  epoll_event event{};
  event.events = events;
  event.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) < 0) {
    return ErrnoStatus(absl::StrCat("epoll_ctl(ADD, ", fd, ")"));
  }
  watches_[fd] = std::make_shared<Watch>(Watch{fd, std::move(callback)});
  return absl::OkStatus();
}

absl::Status EventLoop::Remove(int fd) {
  absl::MutexLock lock(&mu_);
  if (watches_.erase(fd) == 0) {
    return absl::NotFoundError(absl::StrCat("fd ", fd, " is not watched"));
  }
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr) < 0) {
    return ErrnoStatus(absl::StrCat("epoll_ctl(DEL, ", fd, ")"));
  }
  return absl::OkStatus();
}

absl::Status EventLoop::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        stopping_ = false;
        return absl::OkStatus();
      }
    }
    RETURN_IF_ERROR(RunOnce(-1));
  }
}

absl::Status EventLoop::RunOnce(int timeout_ms) {
  constexpr int kMaxEvents = 32;
  epoll_event events[kMaxEvents];
  int n = ::epoll_wait(epoll_.get(), events, kMaxEvents, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return absl::OkStatus();
    return ErrnoStatus("epoll_wait");
  }
  for (int i = 0; i < n; ++i) {
    int fd = events[i].data.fd;
    if (fd == wakeup_.fd()) {
      RETURN_IF_ERROR(wakeup_.Read().status());
      continue;
    }
    std::shared_ptr<Watch> watch;
    {
      absl::MutexLock lock(&mu_);
      auto it = watches_.find(fd);
      if (it == watches_.end()) continue;  // Removed by an earlier callback.
      watch = it->second;
    }
    watch->callback(events[i].events);
  }
  return absl::OkStatus();
}

void EventLoop::Stop() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  // An eventfd write fails only when the counter would overflow, in which
  // case the loop is already awake.
  wakeup_.Write().IgnoreError();
}

}  // namespace blimp::base

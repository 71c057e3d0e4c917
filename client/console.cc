#include "client/console.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "base/errno_status.h"
#include "base/unique_fd.h"
#include "base/write_all.h"

namespace blimp::client {
namespace {

// Raw mode on a terminal for as long as it lives.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return;
    struct termios raw = saved_;
    ::cfmakeraw(&raw);
    if (::tcsetattr(fd, TCSANOW, &raw) == 0) active_ = true;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  struct termios saved_ {};
  bool active_ = false;
};

}  // namespace

absl::Status AttachConsole(const std::string& socket_path, int in, int out,
                           std::ostream& notes) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", socket_path));
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  base::UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket.valid()) return base::ErrnoStatus("socket");
  // SAFETY: `address` is a fully initialised sockaddr_un of the size passed.
  if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) !=
      0) {
    const int error = errno;
    if (error == ENOENT || error == ECONNREFUSED) {
      return absl::NotFoundError(absl::StrCat("no console at ", socket_path,
                                              " (is the VM created, and --run-dir right?)"));
    }
    return absl::ErrnoToStatus(error, absl::StrCat("connect ", socket_path));
  }
  const bool tty = ::isatty(in);
  notes << "attached to " << socket_path << (tty ? "; detach with Ctrl-]" : "") << "\n";
  notes.flush();
  bool detached = false;
  {
    RawTerminal raw(in);
    bool input_open = true;
    char buffer[4096];
    while (true) {
      // A closed input leaves the set (poll would report its POLLHUP forever).
      pollfd fds[2] = {{socket.get(), POLLIN, 0}, {input_open ? in : -1, POLLIN, 0}};
      // After the input ends, stay until the guest has been quiet for 0.5 s.
      const int ready = ::poll(fds, 2, input_open ? -1 : 500);
      if (ready < 0) {
        if (errno == EINTR) continue;
        return base::ErrnoStatus("poll");
      }
      if (ready == 0) break;
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = ::read(socket.get(), buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // blimpd closed the console: the VM stopped.
        if (!base::WriteAll(out, buffer, static_cast<size_t>(n))) break;
      }
      if (input_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = ::read(in, buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          input_open = false;  // End of input (a pipe or a file).
          continue;
        }
        const char* end = static_cast<const char*>(std::memchr(buffer, kDetachByte, n));
        const size_t size = end ? static_cast<size_t>(end - buffer) : static_cast<size_t>(n);
        if (!base::WriteAll(socket.get(), buffer, size)) break;
        if (end != nullptr) {
          detached = true;
          break;
        }
      }
    }
  }
  notes << (detached ? "\r\ndetached\n" : "\r\nconsole closed\n");
  return absl::OkStatus();
}

}  // namespace blimp::client

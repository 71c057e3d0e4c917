#include "vmm/control/instance_lock.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/errno_status.h"
#include "base/pid_lock.h"
#include "vmm/control/framing.h"

namespace blimp::vmm::control {

std::string ControlSocketLock(const std::string& socket_path) { return socket_path + ".lock"; }

absl::StatusOr<base::UniqueFd> LockControlSocket(const std::string& socket_path) {
  absl::StatusOr<base::UniqueFd> lock = base::LockPidFile(ControlSocketLock(socket_path));
  if (!lock.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "another blimp-vmm serves ", socket_path, " (", lock.status().message(), ")"));
  }
  return lock;
}

absl::StatusOr<pid_t> ListeningPid(const std::string& socket_path, absl::Duration timeout) {
  absl::StatusOr<base::UniqueFd> fd = ConnectSeqpacket(socket_path, absl::Now() + timeout);
  if (!fd.ok()) return fd.status();
  ucred peer{};
  socklen_t size = sizeof(peer);
  if (::getsockopt(fd->get(), SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0) {
    return base::ErrnoStatus(absl::StrCat("SO_PEERCRED ", socket_path));
  }
  return peer.pid;
}

void WriteExitRecord(int lock_fd, const ExitRecord& record) {
  const std::string line = absl::StrCat("exit ", record.exit_code, " ", record.reason, "\n");
  if (::lseek(lock_fd, 0, SEEK_END) < 0) return;
  (void)!::write(lock_fd, line.data(), line.size());
}

std::optional<ExitRecord> ReadExitRecord(const std::string& socket_path) {
  std::ifstream in(ControlSocketLock(socket_path));
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, "exit ")) continue;
    std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(' ', 2));
    ExitRecord record;
    if (parts.size() < 2 || !absl::SimpleAtoi(parts[1], &record.exit_code)) return std::nullopt;
    if (parts.size() == 3) record.reason = parts[2];
    return record;
  }
  return std::nullopt;
}

}  // namespace blimp::vmm::control

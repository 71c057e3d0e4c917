// Run as "blimp-vmm" inside a jail by jail_test: tries what a compromised VMM
// would try and prints one line per check, "<name> ok" or "<name> FAIL
// <detail>". Arguments: the uid it should run as, its own folder, another
// VM's folder, a daemon socket, a read-only image, the pid of a process
// outside, a TCP port listening on the host's loopback.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace {

void Check(const char* name, bool ok, const std::string& detail = "") {
  std::printf("%s %s%s%s\n", name, ok ? "ok" : "FAIL", detail.empty() ? "" : " ", detail.c_str());
}

std::string Errno() { return std::strerror(errno); }

bool Missing(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) != 0 && errno == ENOENT;
}

std::string StatusField(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      size_t at = line.find_first_not_of(" \t", field.size() + 1);
      return at == std::string::npos ? "" : line.substr(at);
    }
  }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: jail_probe UID OWN_DIR OTHER_DIR DAEMON_SOCKET IMAGE PID PORT\n");
    return 2;
  }
  const uid_t uid = static_cast<uid_t>(std::atoi(argv[1]));
  const std::string own = argv[2], other = argv[3], daemon_socket = argv[4], image = argv[5];
  const pid_t outside = std::atoi(argv[6]);
  const int port = std::atoi(argv[7]);

  Check("uid", ::getuid() == uid && ::geteuid() == uid && ::getgid() == uid,
        std::to_string(::getuid()));
  Check("pid-namespace", ::getpid() == 1, std::to_string(::getpid()));
  Check("caps-effective", StatusField("CapEff") == "0000000000000000", StatusField("CapEff"));
  Check("caps-bounding", StatusField("CapBnd") == "0000000000000000", StatusField("CapBnd"));
  Check("no-new-privs", StatusField("NoNewPrivs") == "1", StatusField("NoNewPrivs"));

  Check("no-shadow", ::open("/etc/shadow", O_RDONLY) < 0 && Missing("/etc/shadow"), Errno());
  Check("no-other-vm", Missing(other));
  Check("no-daemon-socket", Missing(daemon_socket));
  errno = 0;
  Check("cannot-signal-outside", ::kill(outside, 0) != 0 && errno == ESRCH, Errno());

  int fd = ::open(image.c_str(), O_RDONLY);
  Check("image-readable", fd >= 0, Errno());
  if (fd >= 0) ::close(fd);
  fd = ::open(image.c_str(), O_WRONLY);
  Check("image-read-only", fd < 0 && errno == EROFS, Errno());
  const std::string mine = own + "/probe-wrote-this";
  fd = ::open(mine.c_str(), O_WRONLY | O_CREAT, 0600);
  Check("own-folder-writable", fd >= 0, Errno());
  if (fd >= 0) ::close(fd);
  fd = ::open("/new-file-in-root", O_WRONLY | O_CREAT, 0600);
  Check("root-read-only", fd < 0, Errno());
  fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  Check("kvm", fd >= 0, Errno());
  if (fd >= 0) ::close(fd);

  int processes = 0;
  if (DIR* proc = ::opendir("/proc")) {
    while (dirent* entry = ::readdir(proc)) processes += std::isdigit(entry->d_name[0]) ? 1 : 0;
    ::closedir(proc);
  }
  Check("sees-only-itself", processes == 1, std::to_string(processes));

  int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // SAFETY: address is a sockaddr_in of the size passed.
  const bool connected =
      sock >= 0 && ::connect(sock, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  Check("no-host-network", !connected, Errno());
  return 0;
}

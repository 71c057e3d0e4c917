#include "tests/e2e/vm_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/errno_status.h"
#include "base/process_memory.h"

namespace blimp::tests {

std::string Runfile(const std::string& path) {
  const char* dir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (dir == nullptr || workspace == nullptr) return path;
  return absl::StrCat(dir, "/", workspace, "/", path);
}

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

std::string VmmBinary() { return Runfile("vmm/blimp-vmm"); }
std::string TestGuestKernel() { return Runfile("tests/guest/test_guest.elf"); }

bool KvmAvailable() {
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

std::string TestGuestConfig(int vcpus, int mem_mib, const std::string& balloon_json,
                            const std::string& boot_args) {
  std::string config = absl::StrCat(
      R"({"boot-source": {"kernel_image_path": ")", TestGuestKernel(),
      R"(", "boot_args": ")", boot_args, R"("}, "machine-config": {"vcpu_count": )", vcpus,
      R"(, "mem_size_mib": )", mem_mib, "}");
  if (!balloon_json.empty()) absl::StrAppend(&config, R"(, "balloon": )", balloon_json);
  return config + "}";
}

absl::StatusOr<std::unique_ptr<VmProcess>> VmProcess::Start(
    const std::string& config_json, const std::vector<std::string>& extra_args) {
  std::unique_ptr<VmProcess> vm(new VmProcess());
  static int counter = 0;
  vm->config_path_ = absl::StrCat(TempDir(), "/vm-", ::getpid(), "-", counter++, ".json");
  std::ofstream(vm->config_path_) << config_json;
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) < 0 || ::pipe2(out, O_CLOEXEC) < 0 ||
      ::pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0) {
    return base::ErrnoStatus("pipe");
  }
  std::vector<std::string> args = {VmmBinary()};
  if (!config_json.empty()) {
    args.push_back("--config-file");
    args.push_back(vm->config_path_);
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_t pid = ::fork();
  if (pid < 0) return base::ErrnoStatus("fork");
  if (pid == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  vm->stderr_.Reset(err[0]);
  vm->pid_ = pid;
  vm->stdin_.Reset(in[1]);
  vm->stdout_.Reset(out[0]);
  return vm;
}

VmProcess::~VmProcess() {
  if (pid_ > 0 && !exit_status_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (!config_path_.empty()) ::unlink(config_path_.c_str());
}

bool VmProcess::Pump(absl::Duration timeout) {
  pollfd p{stdout_.get(), POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (ready <= 0) return true;
  char buffer[4096];
  ssize_t n = ::read(stdout_.get(), buffer, sizeof(buffer));
  if (n <= 0) return false;
  output_.append(buffer, n);
  return true;
}

absl::StatusOr<std::string> VmProcess::WaitForLine(const std::string& needle,
                                                   absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    size_t found = output_.find(needle, consumed_);
    if (found != std::string::npos) {
      size_t end = output_.find('\n', found);
      if (end != std::string::npos) {
        size_t begin = output_.rfind('\n', found);
        begin = begin == std::string::npos ? 0 : begin + 1;
        consumed_ = end + 1;
        std::string line = output_.substr(begin, end - begin);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
    }
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat("no line with '", needle,
                                                      "'; console so far:\n", output_));
    }
    if (!Pump(std::min(left, absl::Milliseconds(100)))) {
      return absl::UnavailableError(absl::StrCat("console closed before '", needle,
                                                 "'; console:\n", output_));
    }
  }
}

absl::Status VmProcess::SendLine(const std::string& line) {
  std::string data = line + "\n";
  if (::write(stdin_.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
    return base::ErrnoStatus("write to the console");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> VmProcess::Command(const std::string& command,
                                                            absl::Duration timeout) {
  absl::Status sent = SendLine(command);
  if (!sent.ok()) return sent;
  absl::Time deadline = absl::Now() + timeout;
  std::vector<std::string> lines;
  while (true) {
    size_t end = output_.find('\n', consumed_);
    if (end != std::string::npos) {
      std::string line = output_.substr(consumed_, end - consumed_);
      consumed_ = end + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line == command) continue;  // Echo, if any.
      lines.push_back(line);
      if (line == "ok" || line.rfind("error:", 0) == 0) return lines;
      continue;
    }
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("'", command, "' did not finish; console:\n", output_));
    }
    if (!Pump(std::min(left, absl::Milliseconds(100)))) {
      return absl::UnavailableError(absl::StrCat("console closed during '", command, "'"));
    }
  }
}

absl::StatusOr<uint64_t> VmProcess::RssBytes() const { return base::ResidentBytes(pid_); }

absl::StatusOr<uint64_t> VmProcess::LargeMappingRssBytes(uint64_t min_bytes) const {
  return LargeMappingSmapsBytes(min_bytes, "Rss:");
}

absl::StatusOr<uint64_t> VmProcess::LargeMappingSmapsBytes(uint64_t min_bytes,
                                                           absl::string_view field) const {
  std::ifstream smaps(absl::StrCat("/proc/", pid_, "/smaps"));
  if (!smaps) return absl::NotFoundError("no smaps");
  uint64_t total = 0, size = 0;
  std::string line;
  while (std::getline(smaps, line)) {
    std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (parts.empty()) continue;
    if (parts[0].find('-') != std::string::npos && parts.size() >= 5) {
      std::vector<std::string> range = absl::StrSplit(parts[0], '-');
      size = std::stoull(range[1], nullptr, 16) - std::stoull(range[0], nullptr, 16);
    } else if (parts[0] == field && parts.size() >= 2 && size >= min_bytes) {
      total += std::stoull(parts[1]) * 1024;
    }
  }
  return total;
}

std::string VmProcess::Stderr() {
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(stderr_.get(), buffer, sizeof(buffer))) > 0) stderr_text_.append(buffer, n);
  return stderr_text_;
}

void VmProcess::Signal(int signal) { ::kill(pid_, signal); }

std::optional<int> VmProcess::WaitExit(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!exit_status_) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (absl::Now() > deadline) return std::nullopt;
    Pump(absl::Milliseconds(20));  // Keep the pipes drained.
    Stderr();
  }
  return exit_status_;
}

}  // namespace blimp::tests

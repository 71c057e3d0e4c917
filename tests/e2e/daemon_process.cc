#include "tests/e2e/daemon_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <grpcpp/grpcpp.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/errno_status.h"
#include "base/grpc_status.h"
#include "base/pid_lock.h"
#include "vmm/control/instance_lock.h"
#include "base/unique_fd.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

template <typename Request>
Request For(const std::string& id) {
  Request request;
  request.set_vm_id(id);
  return request;
}

grpc::ClientContext* WithDeadline(grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  return context;
}

}  // namespace

blimp::v1::VmConfig TestGuestVmConfig(int mem_mib) {
  blimp::v1::VmConfig config;
  config.mutable_boot_source()->set_kernel_image_path(TestGuestKernel());
  config.mutable_boot_source()->set_boot_args("console=ttyS0");
  config.mutable_machine_config()->set_vcpu_count(1);
  config.mutable_machine_config()->set_mem_size_mib(mem_mib);
  config.mutable_balloon()->set_amount_mib(0);
  config.mutable_balloon()->set_deflate_on_oom(false);
  config.mutable_balloon()->set_stats_polling_interval_s(1);
  return config;
}

absl::StatusOr<std::unique_ptr<DaemonProcess>> DaemonProcess::Start(
    std::vector<std::string> flags, std::optional<int> run_dir_mode) {
  std::unique_ptr<DaemonProcess> daemon(new DaemonProcess());
  char dir[] = "/tmp/blimp-e2e-XXXXXX";  // Short: unix socket paths are limited.
  if (::mkdtemp(dir) == nullptr) return base::ErrnoStatus("mkdtemp");
  daemon->run_dir_ = dir;
  if (run_dir_mode && ::chmod(dir, *run_dir_mode) != 0) return base::ErrnoStatus("chmod");
  if (absl::Status launched = daemon->Launch(std::move(flags)); !launched.ok()) return launched;
  return daemon;
}

absl::Status DaemonProcess::Restart(std::vector<std::string> flags) {
  if (!exit_status_) {
    return absl::FailedPreconditionError("blimpd still runs: signal it and WaitExit first");
  }
  exit_status_.reset();
  return Launch(std::move(flags));
}

absl::Status DaemonProcess::Launch(std::vector<std::string> flags) {
  std::string log = log_path();
  std::vector<std::string> args = {Runfile("daemon/blimpd"), "--run-dir", run_dir_,
                                   "--vmm-binary", Runfile("vmm/blimp-vmm")};
  args.insert(args.end(), flags.begin(), flags.end());
  pid_t pid = ::fork();
  if (pid < 0) return base::ErrnoStatus("fork");
  if (pid == 0) {
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  auto channel = grpc::CreateChannel("unix:" + run_dir_ + "/blimp.grpc.sock",
                                     grpc::InsecureChannelCredentials());
  vms_ = blimp::v1::VmService::NewStub(channel);
  balloons_ = blimp::v1::BalloonService::NewStub(channel);
  grpc::ClientContext context;
  context.set_wait_for_ready(true);
  WithDeadline(&context);
  blimp::v1::ListVmsResponse list;
  grpc::Status status = vms_->ListVms(&context, {}, &list);
  return base::FromGrpcStatus(status);
}

std::vector<pid_t> DaemonProcess::VmmPids() const {
  std::vector<pid_t> pids;
  DIR* dir = ::opendir((run_dir_ + "/vms").c_str());
  if (dir == nullptr) return pids;
  while (dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    const std::string control = vm_dir(name) + "/control.sock";
    if (!base::PidFileLocked(vmm::control::ControlSocketLock(control))) continue;
    if (absl::StatusOr<pid_t> pid = vmm::control::ListeningPid(control); pid.ok()) {
      pids.push_back(*pid);
    }
  }
  ::closedir(dir);
  return pids;
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0 && !exit_status_) {
    ::kill(pid_, SIGTERM);
    if (!WaitExit(absl::Seconds(15))) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // VMMs a killed or detached blimpd left running.
  for (pid_t vmm : VmmPids()) ::kill(vmm, SIGKILL);
  if (!run_dir_.empty()) std::system(("rm -rf " + run_dir_).c_str());
}

absl::Status DaemonProcess::BootTestGuest(const std::string& id, int mem_mib) {
  return BootVm(id, TestGuestVmConfig(mem_mib), absl::Seconds(30));
}

absl::StatusOr<int> DaemonProcess::RestTcpPort() const {
  return PortFromLog("REST on TCP port ");
}

absl::StatusOr<int> DaemonProcess::GrpcTcpPort() const {
  return PortFromLog("gRPC on TCP port ");
}

absl::StatusOr<int> DaemonProcess::PortFromLog(const std::string& says) const {
  // blimpd answers gRPC on its socket a moment before it logs the REST port.
  for (absl::Time deadline = absl::Now() + absl::Seconds(10);;
       absl::SleepFor(absl::Milliseconds(10))) {
    std::stringstream log;
    log << std::ifstream(log_path()).rdbuf();
    const std::string text = log.str();
    const size_t at = text.find(says);
    const size_t end = text.find('\n', at);
    int port = 0;
    if (at != std::string::npos && end != std::string::npos &&
        absl::SimpleAtoi(text.substr(at + says.size(), end - at - says.size()), &port)) {
      return port;
    }
    if (absl::Now() > deadline) {
      return absl::NotFoundError(absl::StrCat("no '", says, "' in ", log_path()));
    }
  }
}

absl::Status DaemonProcess::BootVm(const std::string& id, const blimp::v1::VmConfig& config,
                                   absl::Duration timeout) {
  auto create = For<blimp::v1::CreateVmRequest>(id);
  *create.mutable_config() = config;
  blimp::v1::Vm vm;
  grpc::ClientContext create_context;
  grpc::Status status = vms_->CreateVm(WithDeadline(&create_context), create, &vm);
  if (!status.ok()) return base::FromGrpcStatus(status);
  grpc::ClientContext start_context;
  status = vms_->StartVm(WithDeadline(&start_context), For<blimp::v1::StartVmRequest>(id), &vm);
  if (!status.ok()) return base::FromGrpcStatus(status);
  const std::string console = console_log(id);
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    std::stringstream text;
    text << std::ifstream(console).rdbuf();
    if (text.str().find("BLIMP-GUEST-READY") != std::string::npos) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(20));
  }
  // What the guest and its VMM said, for the failure message.
  auto tail = [](const std::string& path) {
    std::stringstream text;
    text << std::ifstream(path).rdbuf();
    const std::string all = text.str();
    return all.size() > 1500 ? all.substr(all.size() - 1500) : all;
  };
  return absl::DeadlineExceededError(absl::StrCat(
      "no BLIMP-GUEST-READY in ", console, " within ", absl::FormatDuration(timeout),
      "\n--- console.log:\n", tail(console), "\n--- vmm.log:\n", tail(vm_dir(id) + "/vmm.log")));
}

std::string DaemonProcess::Console(const std::string& id, const std::string& command,
                                   const std::vector<std::string>& ends,
                                   absl::Duration timeout) {
  const std::string path = console_socket(id);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  // SAFETY: a complete sockaddr_un of the size passed.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return "connect failed";
  }
  const std::string line = command + "\n";
  if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    return "write failed";
  }
  timeval poll_interval{0, 200'000};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &poll_interval, sizeof(poll_interval));
  std::string output;
  for (absl::Time deadline = absl::Now() + timeout; absl::Now() < deadline;) {
    char buffer[1024];
    ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n == 0) break;
    if (n > 0) output.append(buffer, n);
    for (const std::string& end : ends) {
      size_t at = output.find(end);
      if (at != std::string::npos && (at == 0 || output[at - 1] == '\n') &&
          output.back() == '\n') {
        return output;
      }
    }
  }
  return output;
}

absl::StatusOr<blimp::v1::Vm> DaemonProcess::GetVm(const std::string& id) {
  grpc::ClientContext context;
  blimp::v1::Vm vm;
  grpc::Status status = vms_->GetVm(WithDeadline(&context), For<blimp::v1::GetVmRequest>(id), &vm);
  if (!status.ok()) return base::FromGrpcStatus(status);
  return vm;
}

absl::Status DaemonProcess::SetTarget(const std::string& id, uint32_t mib) {
  grpc::ClientContext context;
  auto request = For<blimp::v1::PatchBalloonRequest>(id);
  request.mutable_update()->set_amount_mib(mib);
  google::protobuf::Empty empty;
  return base::FromGrpcStatus(balloons_->PatchBalloon(WithDeadline(&context), request, &empty));
}

absl::StatusOr<blimp::v1::BalloonStats> DaemonProcess::Stats(const std::string& id) {
  grpc::ClientContext context;
  blimp::v1::BalloonStats stats;
  grpc::Status status = balloons_->GetBalloonStatistics(
      WithDeadline(&context), For<blimp::v1::GetBalloonStatisticsRequest>(id), &stats);
  if (!status.ok()) return base::FromGrpcStatus(status);
  return stats;
}

absl::Status DaemonProcess::WaitForActual(const std::string& id, uint32_t mib,
                                          absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  uint32_t actual = 0;
  while (absl::Now() < deadline) {
    absl::StatusOr<blimp::v1::BalloonStats> stats = Stats(id);
    if (!stats.ok()) return stats.status();
    actual = stats->actual_mib();
    if (actual == mib) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(id, ": balloon stayed at ", actual, " MiB, wanted ", mib));
}

void DaemonProcess::Signal(int signal) { ::kill(pid_, signal); }

std::optional<int> DaemonProcess::WaitExit(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!exit_status_ && absl::Now() < deadline) {
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    } else {
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  return exit_status_;
}

}  // namespace blimp::tests

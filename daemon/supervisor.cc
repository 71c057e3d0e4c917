#include "daemon/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "api/json.h"
#include "api/validate.h"
#include "base/errno_status.h"
#include "base/grpc_status.h"
#include "base/process_memory.h"
#include "base/status_macros.h"
#include "base/unique_fd.h"
#include "daemon/child_process.h"
#include "daemon/console.h"
#include "daemon/run_dir.h"
#include "glog/logging.h"
#include "proto/blimp/v1/vm_service.grpc.pb.h"

namespace blimp::daemon {

struct Supervisor::VmProcess {
  std::string id;
  std::string dir;
  bool ready = false;     // Guarded by Supervisor::mu_: answers calls.
  bool deleting = false;  // Guarded by Supervisor::mu_.
  pid_t pid = -1;
  base::UniqueFd pidfd;  // Kept until the end: signals through it cannot hit a reused pid.
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<blimp::v1::VmService::Stub> stub;
  std::shared_ptr<Console> console;

  absl::Mutex mu;
  bool exited ABSL_GUARDED_BY(mu) = false;
  bool stop_requested ABSL_GUARDED_BY(mu) = false;
  int wait_status ABSL_GUARDED_BY(mu) = 0;
  blimp::v1::Vm last ABSL_GUARDED_BY(mu);  // The last answer of the child.

  bool Exited() {
    absl::MutexLock lock(&mu);
    return exited;
  }
  // Waits up to `timeout` for the child's exit; true if it has exited.
  bool AwaitExit(absl::Duration timeout) {
    absl::MutexLock lock(&mu);
    return mu.AwaitWithTimeout(absl::Condition(&exited), timeout);
  }
  void Signal(int sig) {
    // pidfd_send_signal: the pid cannot have been reused while pidfd is open.
    ::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0);
  }
};

namespace {

std::unique_ptr<grpc::ClientContext> Context(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

// The last non-empty line of a file (blimp-vmm's error message in vmm.log).
std::string LastLine(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

absl::Status MakeFifo(base::UniqueFd& read_end, base::UniqueFd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return base::ErrnoStatus("pipe2");
  read_end.Reset(fds[0]);
  write_end.Reset(fds[1]);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Supervisor>> Supervisor::Create(SupervisorOptions options) {
  ASSIGN_OR_RETURN(std::unique_ptr<base::EventLoop> loop, base::EventLoop::Create());
  return std::unique_ptr<Supervisor>(new Supervisor(std::move(options), std::move(loop)));
}

Supervisor::Supervisor(SupervisorOptions options, std::unique_ptr<base::EventLoop> loop)
    : options_(std::move(options)), loop_(std::move(loop)) {
  loop_thread_ = std::thread([this] {
    absl::Status status = loop_->Run();
    if (!status.ok()) LOG(ERROR) << "supervisor event loop: " << status;
  });
}

Supervisor::~Supervisor() {
  Shutdown();
  loop_->Stop();
  loop_thread_.join();
}

void Supervisor::SetHooks(VmHooks hooks) {
  absl::MutexLock lock(&mu_);
  hooks_ = std::move(hooks);
}

std::string Supervisor::VmDir(const std::string& vm_id) const {
  return absl::StrCat(options_.run_dir, "/", vm_id);
}

absl::StatusOr<std::shared_ptr<Supervisor::VmProcess>> Supervisor::Find(
    const std::string& vm_id) {
  RETURN_IF_ERROR(api::ValidateVmId(vm_id));
  absl::MutexLock lock(&mu_);
  auto it = vms_.find(vm_id);
  if (it == vms_.end() || !it->second->ready || it->second->deleting) {
    return absl::NotFoundError(absl::StrCat("no such VM '", vm_id, "'"));
  }
  return it->second;
}

absl::StatusOr<blimp::v1::Vm> Supervisor::CreateVm(const std::string& vm_id,
                                                   const blimp::v1::VmConfig& config) {
  RETURN_IF_ERROR(api::ValidateVmId(vm_id));
  RETURN_IF_ERROR(api::ValidateVmConfig(config));
  auto vm = std::make_shared<VmProcess>();
  vm->id = vm_id;
  vm->dir = VmDir(vm_id);
  VmHooks hooks;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return absl::UnavailableError("blimpd is shutting down");
    if (vms_.count(vm_id) != 0) {
      return absl::AlreadyExistsError(absl::StrCat("VM '", vm_id, "' already exists"));
    }
    vms_[vm_id] = vm;  // Reserved (not ready): the id is taken from now on.
  }
  const absl::Time begin = absl::Now();
  absl::Status status = Launch(vm, config);
  if (!status.ok()) {
    LOG(WARNING) << "create VM '" << vm_id << "': " << status;
    Forget(vm);
    return status;
  }
  bool shutting_down;
  {
    absl::MutexLock lock(&mu_);
    shutting_down = shut_down_;
    vm->ready = !shutting_down;
    hooks = hooks_;
  }
  if (shutting_down) {
    Forget(vm);
    return absl::UnavailableError("blimpd is shutting down");
  }
  LOG(INFO) << "VM '" << vm_id << "' created (blimp-vmm pid " << vm->pid << ", ready in "
            << absl::FormatDuration(absl::Now() - begin) << ")";
  if (hooks.on_created) hooks.on_created(vm_id, vm->dir);
  return Describe(*vm);
}

absl::Status Supervisor::Launch(const std::shared_ptr<VmProcess>& vm,
                                const blimp::v1::VmConfig& config) {
  struct stat st;
  if (::lstat(vm->dir.c_str(), &st) == 0) {
    LOG(WARNING) << "removing the leftover folder " << vm->dir;
    RETURN_IF_ERROR(RemoveTree(vm->dir));
  }
  if (::mkdir(vm->dir.c_str(), 0700) < 0) return base::ErrnoStatus("mkdir " + vm->dir);
  const std::string config_path = vm->dir + "/config.json";
  const std::string control_sock = vm->dir + "/control.sock";
  RETURN_IF_ERROR(WriteFile(config_path, api::ToJson(config), 0600));

  base::UniqueFd stdin_read, stdin_write, stdout_read, stdout_write;
  RETURN_IF_ERROR(MakeFifo(stdin_read, stdin_write));
  RETURN_IF_ERROR(MakeFifo(stdout_read, stdout_write));
  const std::string vmm_log = vm->dir + "/vmm.log";
  base::UniqueFd stderr_fd(
      ::open(vmm_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!stderr_fd.valid()) return base::ErrnoStatus("open " + vmm_log);

  SpawnOptions spawn;
  spawn.argv = {options_.vmm_binary, "--config-file", config_path, "--control-sock",
                control_sock,        "--id",          vm->id,      "--wait-for-start"};
  spawn.stdin_fd = stdin_read.get();
  spawn.stdout_fd = stdout_write.get();
  spawn.stderr_fd = stderr_fd.get();
  ASSIGN_OR_RETURN(Child child, Spawn(spawn));
  vm->pid = child.pid;
  vm->pidfd = std::move(child.pidfd);
  stdin_read.Reset();
  stdout_write.Reset();

  std::weak_ptr<VmProcess> weak = vm;
  RETURN_IF_ERROR(loop_->Add(vm->pidfd.get(), EPOLLIN, [this, weak](uint32_t) {
    if (auto locked = weak.lock()) OnChildExit(locked);
  }));
  ASSIGN_OR_RETURN(vm->console, Console::Create(*loop_, std::move(stdout_read),
                                                std::move(stdin_write),
                                                vm->dir + "/console.log",
                                                vm->dir + "/console.sock"));
  grpc::ChannelArguments args;
  // The socket appears within milliseconds; do not back off for a second.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  vm->channel = grpc::CreateCustomChannel("unix:" + control_sock,
                                          grpc::InsecureChannelCredentials(), args);
  vm->stub = blimp::v1::VmService::NewStub(vm->channel);
  RETURN_IF_ERROR(WaitUntilReady(*vm));
  // gRPC in blimp-vmm makes it 0777 & ~umask; the folder is 0700 anyway.
  ::chmod(control_sock.c_str(), 0600);
  return absl::OkStatus();
}

absl::Status Supervisor::WaitUntilReady(VmProcess& vm) {
  const absl::Time deadline = absl::Now() + options_.ready_timeout;
  while (absl::Now() < deadline) {
    if (vm.AwaitExit(absl::ZeroDuration())) {
      int wait_status;
      {
        absl::MutexLock lock(&vm.mu);
        wait_status = vm.wait_status;
      }
      std::string message = absl::StrCat("VM '", vm.id, "': ", DescribeWaitStatus(wait_status),
                                         " during start-up");
      const std::string last_line = LastLine(vm.dir + "/vmm.log");
      absl::string_view detail = last_line;
      absl::ConsumePrefix(&detail, "blimp-vmm: ");
      if (!detail.empty()) absl::StrAppend(&message, ": ", detail);
      // Status 1: blimp-vmm refused its configuration on this host.
      if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 1) {
        return absl::InvalidArgumentError(message);
      }
      return absl::InternalError(message);
    }
    struct stat st;
    if (::stat((vm.dir + "/control.sock").c_str(), &st) != 0) {
      vm.AwaitExit(absl::Milliseconds(5));
      continue;
    }
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(200)));
    context.set_wait_for_ready(true);
    blimp::v1::GetVmRequest request;
    request.set_vm_id(vm.id);
    blimp::v1::Vm response;
    if (vm.stub->GetVm(&context, request, &response).ok()) {
      absl::MutexLock lock(&vm.mu);
      vm.last = response;
      return absl::OkStatus();
    }
  }
  return absl::UnavailableError(absl::StrCat("blimp-vmm for VM '", vm.id,
                                             "' did not answer on its control socket within ",
                                             absl::FormatDuration(options_.ready_timeout)));
}

void Supervisor::OnChildExit(const std::shared_ptr<VmProcess>& vm) {
  int status = 0;
  pid_t reaped = ::waitpid(vm->pid, &status, WNOHANG);
  if (reaped == 0) return;  // Spurious.
  loop_->Remove(vm->pidfd.get()).IgnoreError();
  ::unlink((vm->dir + "/control.sock").c_str());  // Left behind by a killed child.
  if (vm->console) vm->console->Close();
  absl::MutexLock lock(&vm->mu);
  vm->exited = true;
  vm->wait_status = status;
  const bool clean = ExitedCleanly(status);
  blimp::v1::Vm& last = vm->last;
  if (vm->stop_requested) {
    last.set_state(blimp::v1::VM_STATE_STOPPED);
    last.set_reason(clean ? "stopped by request"
                          : absl::StrCat("stopped by request (", DescribeWaitStatus(status), ")"));
  } else if (clean) {
    last.set_state(blimp::v1::VM_STATE_STOPPED);
    last.set_reason("guest powered off (blimp-vmm exited with status 0)");
  } else {
    last.set_state(blimp::v1::VM_STATE_FAILED);
    last.set_reason(DescribeWaitStatus(status));
  }
  last.set_vmm_pid(0);
  last.set_vmm_rss_bytes(0);
  last.clear_balloon_actual_mib();
  LOG(INFO) << "VM '" << vm->id << "': " << DescribeWaitStatus(status) << " -> "
            << blimp::v1::VmState_Name(last.state());
}

void Supervisor::Terminate(VmProcess& vm) {
  {
    absl::MutexLock lock(&vm.mu);
    if (vm.exited) return;
    vm.stop_requested = true;
  }
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.rpc_timeout));
  blimp::v1::StopVmRequest request;
  request.set_vm_id(vm.id);
  blimp::v1::Vm response;
  // A VM that never booted refuses StopVm; SIGTERM ends it at once.
  if (vm.stub != nullptr && vm.stub->StopVm(&context, request, &response).ok() &&
      vm.AwaitExit(options_.stop_grace)) {
    return;
  }
  vm.Signal(SIGTERM);
  if (vm.AwaitExit(options_.term_grace)) return;
  LOG(WARNING) << "VM '" << vm.id << "': blimp-vmm ignored SIGTERM, sending SIGKILL";
  vm.Signal(SIGKILL);
  if (!vm.AwaitExit(absl::Seconds(10))) {
    LOG(ERROR) << "VM '" << vm.id << "': blimp-vmm pid " << vm.pid << " survives SIGKILL";
  }
}

void Supervisor::Forget(const std::shared_ptr<VmProcess>& vm) {
  if (vm->pidfd.valid()) Terminate(*vm);
  if (vm->console) vm->console->Close();
  absl::Status removed = RemoveTree(vm->dir);
  if (!removed.ok()) LOG(WARNING) << removed;
  absl::MutexLock lock(&mu_);
  auto it = vms_.find(vm->id);
  if (it != vms_.end() && it->second == vm) vms_.erase(it);
}

blimp::v1::Vm Supervisor::Describe(VmProcess& vm) {
  if (!vm.Exited()) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    blimp::v1::GetVmRequest request;
    request.set_vm_id(vm.id);
    blimp::v1::Vm response;
    grpc::Status status = vm.stub->GetVm(&context, request, &response);
    absl::MutexLock lock(&vm.mu);
    if (status.ok() && !vm.exited) {
      response.set_vmm_pid(vm.pid);
      response.set_vmm_rss_bytes(base::ResidentBytes(vm.pid).value_or(0));
      vm.last = response;
    } else if (!status.ok()) {
      LOG(WARNING) << "VM '" << vm.id << "': GetVm: " << status.error_message();
    }
    return vm.last;
  }
  absl::MutexLock lock(&vm.mu);
  return vm.last;
}

absl::Status Supervisor::PutBootSource(const std::string& vm_id,
                                       const blimp::v1::BootSource& boot) {
  ASSIGN_OR_RETURN(std::shared_ptr<VmProcess> vm, Find(vm_id));
  if (vm->Exited()) return absl::FailedPreconditionError("the VM's process has exited");
  blimp::v1::PutBootSourceRequest request;
  request.set_vm_id(vm_id);
  *request.mutable_boot_source() = boot;
  google::protobuf::Empty response;
  return base::FromGrpcStatus(
      vm->stub->PutBootSource(Context(options_.rpc_timeout).get(), request, &response));
}

absl::Status Supervisor::PutMachineConfig(const std::string& vm_id,
                                          const blimp::v1::MachineConfig& machine) {
  ASSIGN_OR_RETURN(std::shared_ptr<VmProcess> vm, Find(vm_id));
  if (vm->Exited()) return absl::FailedPreconditionError("the VM's process has exited");
  blimp::v1::PutMachineConfigRequest request;
  request.set_vm_id(vm_id);
  *request.mutable_machine_config() = machine;
  google::protobuf::Empty response;
  return base::FromGrpcStatus(
      vm->stub->PutMachineConfig(Context(options_.rpc_timeout).get(), request, &response));
}

absl::StatusOr<blimp::v1::Vm> Supervisor::StartVm(const std::string& vm_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<VmProcess> vm, Find(vm_id));
  if (vm->Exited()) {
    return absl::FailedPreconditionError(
        absl::StrCat("VM '", vm_id, "' has stopped and cannot be started again"));
  }
  blimp::v1::StartVmRequest request;
  request.set_vm_id(vm_id);
  blimp::v1::Vm response;
  RETURN_IF_ERROR(base::FromGrpcStatus(
      vm->stub->StartVm(Context(options_.start_timeout).get(), request, &response)));
  return Describe(*vm);
}

absl::StatusOr<blimp::v1::Vm> Supervisor::StopVm(const std::string& vm_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<VmProcess> vm, Find(vm_id));
  if (vm->Exited()) {
    return absl::FailedPreconditionError(absl::StrCat("VM '", vm_id, "' is not running"));
  }
  Terminate(*vm);
  return Describe(*vm);
}

absl::Status Supervisor::DeleteVm(const std::string& vm_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<VmProcess> vm, Find(vm_id));
  VmHooks hooks;
  {
    absl::MutexLock lock(&mu_);
    if (vm->deleting) return absl::NotFoundError(absl::StrCat("no such VM '", vm_id, "'"));
    vm->deleting = true;
    hooks = hooks_;
  }
  if (hooks.on_deleted) hooks.on_deleted(vm_id);
  Forget(vm);
  LOG(INFO) << "VM '" << vm_id << "' deleted";
  return absl::OkStatus();
}

absl::StatusOr<blimp::v1::Vm> Supervisor::GetVm(const std::string& vm_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<VmProcess> vm, Find(vm_id));
  return Describe(*vm);
}

std::vector<blimp::v1::Vm> Supervisor::ListVms() {
  std::vector<std::shared_ptr<VmProcess>> vms;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, vm] : vms_) {
      if (vm->ready && !vm->deleting) vms.push_back(vm);
    }
  }
  std::vector<blimp::v1::Vm> result;
  for (const auto& vm : vms) result.push_back(Describe(*vm));
  return result;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> Supervisor::ControlChannel(
    const std::string& vm_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<VmProcess> vm, Find(vm_id));
  if (vm->Exited()) {
    return absl::FailedPreconditionError(absl::StrCat("VM '", vm_id, "' is not running"));
  }
  return vm->channel;
}

void Supervisor::Shutdown() {
  std::vector<std::shared_ptr<VmProcess>> vms;
  VmHooks hooks;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    for (const auto& [id, vm] : vms_) {
      if (vm->ready) vms.push_back(vm);
    }
    hooks = hooks_;
  }
  std::vector<std::thread> stoppers;
  for (const auto& vm : vms) {
    stoppers.emplace_back([this, vm, &hooks] {
      if (hooks.on_deleted) hooks.on_deleted(vm->id);
      Terminate(*vm);
      if (vm->console) vm->console->Close();
      ::unlink((vm->dir + "/control.sock").c_str());
    });
  }
  for (std::thread& stopper : stoppers) stopper.join();
  LOG(INFO) << "supervisor: " << vms.size() << " VM(s) stopped";
}

}  // namespace blimp::daemon

#include "daemon/vm_instance.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "api/json.h"
#include "base/errno_status.h"
#include "base/pid_lock.h"
#include "base/process_memory.h"
#include "base/status_macros.h"
#include "daemon/child_process.h"
#include "daemon/jail.h"
#include "daemon/run_dir.h"
#include "glog/logging.h"
#include "vmm/control/instance_lock.h"

namespace blimp::daemon {
namespace {

namespace v1 = blimp::v1;

using vmm::control::Request;
using vmm::control::Response;

// The last non-empty line of a file (blimp-vmm's error message in vmm.log).
constexpr absl::Duration kUnansweredCheckPause = absl::Seconds(10);

std::string LastLine(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

}  // namespace

VmInstance::VmInstance(std::string id, std::string dir, const VmInstanceOptions& options,
                       base::EventLoop& loop)
    : id_(std::move(id)),
      dir_(std::move(dir)),
      options_(options),
      loop_(loop),
      control_([this](const Request& request) { return Call(request, options_.rpc_timeout); }),
      verdict_(options.memory_verdict) {}

VmInstance::~VmInstance() {
  Close();
  bool watching;
  {
    absl::MutexLock lock(&mu_);
    watching = watching_;
  }
  if (watching) loop_.Remove(pidfd_.get()).IgnoreError();
}

absl::StatusOr<std::shared_ptr<VmInstance>> VmInstance::Launch(std::string id, std::string dir,
                                                               const v1::VmConfig& config,
                                                               const VmInstanceOptions& options,
                                                               base::EventLoop& loop,
                                                               uid_t jail_uid) {
  std::shared_ptr<VmInstance> vm(new VmInstance(std::move(id), std::move(dir), options, loop));
  absl::Status status = vm->Spawn(config, jail_uid);
  if (status.ok()) status = vm->WaitUntilReady();
  if (!status.ok()) {
    if (vm->pidfd_.valid()) vm->Stop();
    vm->Close();
    return status;
  }
  return vm;
}

absl::StatusOr<std::shared_ptr<VmInstance>> VmInstance::Restore(
    std::string id, std::string dir, const v1::VmConfig& config, const api::SnapshotFiles& files,
    bool resume, const VmInstanceOptions& options, base::EventLoop& loop, uid_t jail_uid) {
  std::shared_ptr<VmInstance> vm(new VmInstance(std::move(id), std::move(dir), options, loop));
  absl::Status status = vm->Spawn(config, jail_uid, /*write_config=*/false);
  if (status.ok()) status = vm->WaitUntilReady();
  if (status.ok()) {
    Request load;
    load.mutable_load_snapshot()->set_snapshot_path(files.state_path);
    load.mutable_load_snapshot()->mutable_mem_backend()->set_backend_type("File");
    load.mutable_load_snapshot()->mutable_mem_backend()->set_backend_path(files.memory_path);
    load.mutable_load_snapshot()->set_resume_vm(resume);
    absl::StatusOr<Response> loaded = vm->Call(load, options.snapshot_timeout);
    if (loaded.ok()) {
      vm->Merge(loaded->vm());
    } else {
      status = loaded.status();
    }
  }
  if (!status.ok()) {
    if (vm->pidfd_.valid()) vm->Stop();
    vm->Close();
    return status;
  }
  return vm;
}

absl::StatusOr<std::shared_ptr<VmInstance>> VmInstance::Adopt(std::string id, std::string dir,
                                                              const VmInstanceOptions& options,
                                                              base::EventLoop& loop,
                                                              absl::Duration describe_timeout) {
  std::shared_ptr<VmInstance> vm(new VmInstance(std::move(id), std::move(dir), options, loop));
  const std::string lock = vmm::control::ControlSocketLock(vm->ControlSocket());
  if (!base::PidFileLocked(lock)) {
    return absl::NotFoundError(absl::StrCat("no blimp-vmm holds ", lock));
  }
  // The pid comes from the kernel (the control socket's listener), never
  // from a file the VMM writes: this daemon will signal that pid.
  absl::StatusOr<pid_t> pid = vmm::control::ListeningPid(vm->ControlSocket());
  if (!pid.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "a blimp-vmm holds ", lock, " but does not serve its control socket (",
        pid.status().message(), "): not adopted"));
  }
  base::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, *pid, 0)));
  if (!pidfd.valid()) return base::ErrnoStatus(absl::StrCat("pidfd_open ", *pid));
  // Still the listener once the pidfd is open: the pid was not reused meanwhile.
  absl::StatusOr<pid_t> again = vmm::control::ListeningPid(vm->ControlSocket());
  if (!again.ok() || *again != *pid) {
    return absl::NotFoundError(absl::StrCat("blimp-vmm pid ", *pid, " ended during adoption"));
  }
  vm->adopted_ = true;
  {
    absl::MutexLock lock_state(&vm->mu_);
    vm->last_.set_vm_id(vm->id_);
    vm->last_.set_reason(absl::StrCat("adopted after a blimpd restart; blimp-vmm pid ", *pid,
                                      " has not answered yet"));
  }
  RETURN_IF_ERROR(vm->Attach(*pid, std::move(pidfd)));
  vm->FindMemoryCgroup();
  vm->Describe(describe_timeout);
  return vm;
}

std::string VmInstance::ControlSocket() const { return absl::StrCat(dir_, "/", kControlSocket); }

absl::Status VmInstance::Spawn(const v1::VmConfig& config, uid_t jail_uid, bool write_config) {
  const std::string config_path = dir_ + "/config.json";
  if (write_config) RETURN_IF_ERROR(WriteFile(config_path, api::ToJson(config), 0600));
  std::optional<JailPlan> jail;
  if (!options_.jail_root.empty()) {
    // The VM's user owns its folder and reads its config; vmm.log stays the
    // daemon's (the VMM gets it as an fd).
    if (::chown(dir_.c_str(), jail_uid, jail_uid) != 0 ||
        (write_config && ::chown(config_path.c_str(), jail_uid, jail_uid) != 0)) {
      return base::ErrnoStatus(absl::StrCat("chown ", dir_));
    }
    JailConfig jail_config;
    jail_config.uid = jail_uid;
    jail_config.gid = jail_uid;
    jail_config.root_mountpoint = options_.jail_root;
    jail_config.vm_dir = dir_;
    jail_config.read_only = {options_.vmm_binary};
    // A restored guest is in its memory file: its images are not read.
    if (write_config) jail_config.read_only.push_back(config.boot_source().kernel_image_path());
    if (write_config && !config.boot_source().initrd_path().empty()) {
      jail_config.read_only.push_back(config.boot_source().initrd_path());
    }
    ASSIGN_OR_RETURN(jail, JailPlan::For(jail_config));
  }
  base::UniqueFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null_fd.valid()) return base::ErrnoStatus("open /dev/null");
  const std::string vmm_log = dir_ + "/vmm.log";
  base::UniqueFd log_fd(
      ::open(vmm_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!log_fd.valid()) return base::ErrnoStatus("open " + vmm_log);

  // No pipe to the daemon: the VMM serves its own console, so that it keeps
  // running, logging and serving when blimpd dies or is restarted.
  SpawnOptions spawn;
  spawn.argv = {options_.vmm_binary,
                "--control-sock",
                ControlSocket(),
                "--console-log",
                absl::StrCat(dir_, "/", kConsoleLog),
                "--console-sock",
                absl::StrCat(dir_, "/", kConsoleSocket),
                absl::StrCat("--console-log-max-bytes=", options_.console_log_max_bytes),
                "--id",
                id_,
                "--wait-for-start"};
  if (write_config) spawn.argv.insert(spawn.argv.begin() + 1, {"--config-file", config_path});
  spawn.stdin_fd = null_fd.get();
  spawn.stdout_fd = log_fd.get();
  spawn.stderr_fd = log_fd.get();
  if (jail) spawn.jail = &*jail;
  ASSIGN_OR_RETURN(Child child, daemon::Spawn(spawn));
  RETURN_IF_ERROR(Attach(child.pid, std::move(child.pidfd)));
  // On failure Launch() stops the child (Attach made it stoppable).
  return JoinMemoryCgroup(config.machine_config().mem_size_mib());
}

uint64_t VmInstance::MemoryLimit(uint32_t mem_size_mib) const {
  return (uint64_t{mem_size_mib} << 20) + options_.vmm_memory_allowance_bytes;
}

absl::Status VmInstance::JoinMemoryCgroup(uint32_t mem_size_mib) {
  if (options_.memory_cgroup_parent.empty()) return absl::OkStatus();
  const std::string dir = absl::StrCat(options_.memory_cgroup_parent, "/", id_);
  // A leftover of a VM of this id that died with a daemon: empty, reused.
  ASSIGN_OR_RETURN(MemoryCgroup cgroup, MemoryCgroup::Create(dir));
  cgroup_ = cgroup;
  // The limit first: the VMM is never in the cgroup without it.
  RETURN_IF_ERROR(cgroup_->SetLimit(MemoryLimit(mem_size_mib)));
  RETURN_IF_ERROR(cgroup_->AddProcess(pid_));
  LOG(INFO) << "VM '" << id_ << "': blimp-vmm pid " << pid_ << " in memory cgroup " << dir
            << ", limit " << (MemoryLimit(mem_size_mib) >> 20) << " MiB";
  return absl::OkStatus();
}

void VmInstance::FindMemoryCgroup() {
  if (options_.memory_cgroup_parent.empty()) return;
  absl::StatusOr<std::string> dir = ProcessMemoryCgroupDir(pid_);
  // Only the cgroup an earlier blimpd made for this VM, never the VMM's
  // parent's (which would be removed with the VM).
  if (dir.ok() && absl::EndsWith(*dir, absl::StrCat("/", id_))) {
    absl::StatusOr<MemoryCgroup> cgroup = MemoryCgroup::Open(*dir);
    if (cgroup.ok()) {
      cgroup_ = *cgroup;
      return;
    }
  }
  LOG(WARNING) << "VM '" << id_ << "': adopted blimp-vmm pid " << pid_
               << " has no memory cgroup of its own ("
               << (dir.ok() ? *dir : dir.status().ToString()) << "): its memory is not limited";
}

void VmInstance::RemoveMemoryCgroup() {
  if (!cgroup_) return;
  absl::Status removed = cgroup_->Remove();
  if (!removed.ok()) LOG(WARNING) << "VM '" << id_ << "': " << removed;
}

absl::Status VmInstance::Attach(pid_t pid, base::UniqueFd pidfd) {
  pid_ = pid;
  pidfd_ = std::move(pidfd);
  std::weak_ptr<VmInstance> weak = weak_from_this();
  RETURN_IF_ERROR(loop_.Add(pidfd_.get(), EPOLLIN, [weak](uint32_t) {
    if (auto self = weak.lock()) self->OnExit();
  }));
  {
    absl::MutexLock lock(&mu_);
    watching_ = !exited_;
  }
  client_ = std::make_unique<vmm::control::VmmClient>(ControlSocket());
  return absl::OkStatus();
}

absl::Status VmInstance::WaitUntilReady() {
  const absl::Time deadline = absl::Now() + options_.ready_timeout;
  while (absl::Now() < deadline) {
    if (AwaitExit(absl::ZeroDuration())) {
      int wait_status;
      {
        absl::MutexLock lock(&mu_);
        wait_status = wait_status_;
      }
      std::string message = absl::StrCat("VM '", id_, "': ", DescribeWaitStatus(wait_status),
                                         " during start-up");
      const std::string last_line = LastLine(dir_ + "/vmm.log");
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
    if (::stat(ControlSocket().c_str(), &st) != 0) {
      AwaitExit(absl::Milliseconds(5));
      continue;
    }
    Request describe;
    describe.mutable_describe();
    absl::StatusOr<Response> answer = client_->Call(describe, absl::Milliseconds(200));
    if (answer.ok()) {
      absl::MutexLock lock(&mu_);
      last_ = vmm::control::ToVm(id_, answer->vm());
      CountConsoleLocked(answer->vm());
      return absl::OkStatus();
    }
    AwaitExit(absl::Milliseconds(5));
  }
  return absl::UnavailableError(absl::StrCat("blimp-vmm for VM '", id_,
                                             "' did not answer on its control socket within ",
                                             absl::FormatDuration(options_.ready_timeout)));
}

int VmInstance::AdoptedExitStatus() {
  std::optional<vmm::control::ExitRecord> record = vmm::control::ReadExitRecord(ControlSocket());
  // Without a record it was killed: shown as SIGKILL, the usual cause.
  if (!record) return SIGKILL;
  return (record->exit_code & 0xff) << 8;  // As waitpid would report it.
}

void VmInstance::OnExit() {
  int status = 0;
  if (adopted_) {
    status = AdoptedExitStatus();
  } else if (::waitpid(pid_, &status, WNOHANG) <= 0) {
    return;  // Spurious.
  }
  // Left behind by a killed VMM.
  ::unlink(ControlSocket().c_str());
  ::unlink(absl::StrCat(dir_, "/", kConsoleSocket).c_str());
  loop_.Remove(pidfd_.get()).IgnoreError();
  // Read before the cgroup goes: whether the kernel ended it at its limit.
  std::string oom;
  if (cgroup_ && cgroup_->OomKills().value_or(0) > 0) {
    oom = absl::StrCat("killed by its memory cgroup limit (",
                       cgroup_->Limit().value_or(0) >> 20,
                       " MiB: the guest RAM its balloon leaves it + the VMM allowance): the guest "
                       "used more memory than it may");
  }
  if (oom.empty()) {
    absl::MutexLock lock(&mu_);
    oom = limit_kill_reason_;  // Ended by FollowBalloon, if at all.
  }
  RemoveMemoryCgroup();  // Reaped (or, adopted, exited): nothing of it is left in the cgroup.
  if (!oom.empty() && !stop_requested()) {
    v1::MemoryEnforcement check;
    {
      absl::MutexLock lock(&mu_);
      if (enforcement_) check = *enforcement_;
    }
    Publish(v1::VM_EVENT_MEMORY_LIMIT_KILLED, oom, check);
  }
  absl::MutexLock lock(&mu_);
  watching_ = false;
  exited_ = true;
  wait_status_ = status;
  const bool clean = ExitedCleanly(status);
  if (stop_requested_) {
    last_.set_state(v1::VM_STATE_STOPPED);
    last_.set_reason(clean ? "stopped by request"
                           : absl::StrCat("stopped by request (", DescribeWaitStatus(status), ")"));
  } else if (clean) {
    last_.set_state(v1::VM_STATE_STOPPED);
    last_.set_reason("guest powered off (blimp-vmm exited with status 0)");
  } else {
    last_.set_state(v1::VM_STATE_FAILED);
    last_.set_reason(oom.empty() ? DescribeWaitStatus(status)
                                 : absl::StrCat(oom, " (", DescribeWaitStatus(status), ")"));
  }
  last_.set_vmm_pid(0);
  last_.set_vmm_rss_bytes(0);
  last_.clear_balloon_actual_mib();
  LOG(INFO) << "VM '" << id_ << "': " << DescribeWaitStatus(status) << " -> "
            << v1::VmState_Name(last_.state());
}

bool VmInstance::exited() {
  absl::MutexLock lock(&mu_);
  return exited_;
}

bool VmInstance::stop_requested() {
  absl::MutexLock lock(&mu_);
  return stop_requested_;
}

bool VmInstance::AwaitExit(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&exited_), timeout);
}

void VmInstance::Signal(int sig) {
  // pidfd_send_signal: the pid cannot have been reused while pidfd_ is open.
  ::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0);
}

absl::StatusOr<Response> VmInstance::Call(const Request& request, absl::Duration timeout) {
  if (exited()) return absl::FailedPreconditionError(absl::StrCat("VM '", id_, "' is not running"));
  absl::StatusOr<Response> response = client_->Call(request, timeout);
  if (response.status().code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::DeadlineExceededError(
        absl::StrCat("VM '", id_, "' did not answer within ", absl::FormatDuration(timeout),
                     " (blimp-vmm pid ", pid_, " is stopped or busy)"));
  }
  if (!response.ok() && exited()) {
    return absl::FailedPreconditionError(absl::StrCat("VM '", id_, "' is not running"));
  }
  return response;
}

absl::Status VmInstance::ExposeImages(const v1::BootSource& boot) {
  if (options_.jail_root.empty() || exited()) return absl::OkStatus();
  for (const std::string& path : {boot.kernel_image_path(), boot.initrd_path()}) {
    if (path.empty()) continue;
    absl::Status bound = BindIntoJail(pidfd_.get(), pid_, path);
    // An unjailed VMM (adopted from a daemon run with --nojail) sees the host.
    if (!bound.ok() && !absl::IsFailedPrecondition(bound)) return bound;
  }
  return absl::OkStatus();
}

absl::Status VmInstance::PutBootSource(const v1::BootSource& boot) {
  return control_.PutBootSource(boot);
}

absl::Status VmInstance::PutMachineConfig(const v1::MachineConfig& machine) {
  // Raised before a bigger VM can boot, lowered only once the VMM took the
  // smaller one (it has not touched guest RAM yet: boot comes later).
  const uint64_t limit = MemoryLimit(machine.mem_size_mib());
  absl::StatusOr<uint64_t> before = cgroup_ ? cgroup_->Limit() : absl::StatusOr<uint64_t>(0);
  if (cgroup_ && before.ok() && limit > *before) RETURN_IF_ERROR(cgroup_->SetLimit(limit));
  absl::Status status = control_.PutMachineConfig(machine);
  if (cgroup_ && before.ok() && (status.ok() ? limit < *before : limit > *before)) {
    absl::Status set = cgroup_->SetLimit(status.ok() ? limit : *before);
    if (!set.ok()) LOG(WARNING) << "VM '" << id_ << "': " << set;
  }
  return status;
}

absl::StatusOr<v1::Vm> VmInstance::Start() {
  if (exited()) {
    return absl::FailedPreconditionError(
        absl::StrCat("VM '", id_, "' has stopped and cannot be started again"));
  }
  Request start;
  start.mutable_start();
  ASSIGN_OR_RETURN(Response response, Call(start, options_.start_timeout));
  return Merge(response.vm());
}

absl::StatusOr<v1::Vm> VmInstance::SetPaused(bool paused) {
  if (exited()) return absl::FailedPreconditionError(absl::StrCat("VM '", id_, "' is not running"));
  Request request;
  if (paused) {
    request.mutable_pause();
  } else {
    request.mutable_resume();
  }
  ASSIGN_OR_RETURN(Response response, Call(request, options_.rpc_timeout));
  return Merge(response.vm());
}

absl::StatusOr<v1::SnapshotInfo> VmInstance::CreateSnapshot(
    const v1::SnapshotCreateParams& params) {
  if (exited()) return absl::FailedPreconditionError(absl::StrCat("VM '", id_, "' is not running"));
  Request request;
  *request.mutable_create_snapshot() = params;
  ASSIGN_OR_RETURN(Response response, Call(request, options_.snapshot_timeout));
  return response.snapshot();
}

absl::StatusOr<base::UniqueFd> VmInstance::Watch() {
  if (exited()) return absl::FailedPreconditionError(absl::StrCat("VM '", id_, "' is not running"));
  return client_->Watch(options_.rpc_timeout);
}

void VmInstance::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (exited_) return;
    stop_requested_ = true;
  }
  // A VM that never booted refuses stop; SIGTERM ends it at once.
  if (client_ != nullptr && control_.Stop().ok() && AwaitExit(options_.stop_grace)) return;
  Signal(SIGTERM);
  Signal(SIGCONT);  // A stopped (SIGSTOP) process only sees SIGTERM once continued.
  if (AwaitExit(options_.term_grace)) return;
  LOG(WARNING) << "VM '" << id_ << "': blimp-vmm ignored SIGTERM, sending SIGKILL";
  Signal(SIGKILL);
  if (!AwaitExit(absl::Seconds(10))) {
    LOG(ERROR) << "VM '" << id_ << "': blimp-vmm pid " << pid_ << " survives SIGKILL";
  }
}

void VmInstance::CountConsoleLocked(const vmm::control::VmStatus& status) {
  // Counters only grow; a smaller value is a new VMM process (not expected).
  auto grown = [](uint64_t now, uint64_t& seen) {
    const uint64_t delta = now >= seen ? now - seen : now;
    seen = now;
    return delta;
  };
  const uint64_t bytes = grown(status.console_log_bytes(), console_bytes_seen_);
  const uint64_t rotations = grown(status.console_log_rotations(), console_rotations_seen_);
  if (options_.console_totals) {
    options_.console_totals->bytes_logged += bytes;
    options_.console_totals->rotations += rotations;
  }
}

v1::Vm VmInstance::Merge(const absl::StatusOr<vmm::control::VmStatus>& status) {
  absl::MutexLock lock(&mu_);
  if (exited_) return last_;
  if (status.ok()) {
    last_ = vmm::control::ToVm(id_, *status);
    CountConsoleLocked(*status);
    if (guest_ram_.empty()) {
      for (const vmm::control::HostRange& range : status->guest_ram()) {
        guest_ram_.emplace_back(range.address(), range.size());
      }
    }
  } else {
    LOG_EVERY_N(WARNING, 100) << "VM '" << id_ << "': no state from blimp-vmm ("
                              << status.status() << "), using the last known one";
  }
  if (enforcement_) *last_.mutable_memory_enforcement() = *enforcement_;
  // From /proc, not from the child: right even when it does not answer.
  last_.set_vmm_pid(pid_);
  last_.set_vmm_rss_bytes(base::ResidentBytes(pid_).value_or(0));
  return last_;
}

v1::Vm VmInstance::Describe(absl::Duration timeout) {
  if (exited()) return LastKnown();
  Request describe;
  describe.mutable_describe();
  absl::StatusOr<Response> response = Call(describe, timeout);
  if (!response.ok()) return Merge(response.status());
  return Merge(response->vm());
}

v1::Vm VmInstance::LastKnown() {
  absl::MutexLock lock(&mu_);
  v1::Vm vm = last_;
  if (!exited_) {
    vm.set_vmm_pid(pid_);
    vm.set_vmm_rss_bytes(base::ResidentBytes(pid_).value_or(0));
  }
  return vm;
}

void VmInstance::CheckMemory(absl::Duration timeout) {
  {
    absl::MutexLock lock(&mu_);
    if (exited_ || absl::Now() < next_check_) return;
  }
  Request describe;
  describe.mutable_describe();
  absl::StatusOr<Response> answer = Call(describe, timeout);
  if (!answer.ok()) {
    // A stopped or busy VMM is not asked again for a while: unanswered
    // calls would pile up on its control socket.
    absl::MutexLock lock(&mu_);
    next_check_ = absl::Now() + kUnansweredCheckPause;
    return;
  }
  const v1::Vm vm = Merge(answer->vm());
  // A paused guest cannot touch its memory, but it holds what it held.
  if (vm.state() != v1::VM_STATE_RUNNING && vm.state() != v1::VM_STATE_PAUSED) return;
  v1::MemoryEnforcement check;
  check.set_mode(vm.config().balloon().memory_enforcement().empty()
                     ? "monitor"
                     : vm.config().balloon().memory_enforcement());
  if (cgroup_) {
    check.set_cgroup_limit_bytes(cgroup_->Limit().value_or(0));
    check.set_cgroup_usage_bytes(cgroup_->Usage().value_or(0));
  }
  const uint64_t mem_size = uint64_t{vm.config().machine_config().mem_size_mib()} << 20;
  const uint64_t ballooned = uint64_t{vm.balloon_actual_mib()} << 20;
  check.set_guest_allowed_bytes(mem_size > ballooned ? mem_size - ballooned : 0);
  HostRanges ranges;
  {
    absl::MutexLock lock(&mu_);
    ranges = guest_ram_;
  }
  absl::StatusOr<uint64_t> resident =
      ranges.empty() ? absl::UnavailableError("blimp-vmm did not say where guest RAM is (older "
                                              "blimp-vmm, or no answer yet)")
                     : GuestRamResidentBytes(pid_, ranges);
  if (resident.ok()) {
    check.set_guest_resident_bytes(*resident);
  } else {
    check.set_note(std::string(resident.status().message()));
  }
  if (check.mode() == "limit" && cgroup_) {
    FollowBalloon(vm, check);
  }
  absl::StatusOr<v1::BalloonStats> stats = absl::UnavailableError("statistics off");
  // blimp-vmm checks every update (an impossible one may be replaced
  // within milliseconds); blimpd checks what it samples, with the numbers.
  uint64_t impossible_updates = 0;
  if (vm.config().balloon().stats_polling_interval_s() > 0) {
    stats = control_.GetStatistics();
    absl::StatusOr<v1::BalloonMetrics> metrics = control_.GetMetrics();
    if (metrics.ok()) impossible_updates = metrics->stats_impossible();
  }
  std::vector<std::pair<v1::VmEventKind, std::string>> events;  // Published unlocked.
  {
  absl::MutexLock lock(&mu_);
  if (exited_) return;
  const bool stats_were_flagged = stats_sanity_.flagged() || impossible_updates_seen_ > 0;
  if (stats.ok()) {
    const bool was_flagged = stats_sanity_.flagged();
    const std::string found = stats_sanity_.Check(*stats, mem_size);
    if (!found.empty()) {
      LOG(WARNING) << "VM '" << id_ << "': impossible balloon statistics (" << found << ")"
                   << (was_flagged ? "" : "; its statistics are not trusted from now on");
    }
  }
  if (impossible_updates > impossible_updates_seen_) {
    LOG(WARNING) << "VM '" << id_ << "': blimp-vmm counted "
                 << impossible_updates - impossible_updates_seen_
                 << " impossible balloon statistics update(s) (" << impossible_updates
                 << " in all); its statistics are not trusted";
    impossible_updates_seen_ = impossible_updates;
  }
  check.set_stats_anomalies(std::max(stats_sanity_.anomalies(), impossible_updates_seen_));
  check.set_stats_flagged(check.stats_anomalies() > 0);
  check.set_stats_reason(!stats_sanity_.first().empty() ? stats_sanity_.first()
                         : impossible_updates_seen_ > 0
                             ? absl::StrCat(impossible_updates_seen_,
                                            " statistics update(s) with impossible values "
                                            "(free/available above total or a counter going "
                                            "backwards), counted by blimp-vmm")
                             : "");
  if (resident.ok() && check.mode() != "none") {
    const MemoryVerdict::Change change =
        verdict_.Sample(absl::Now(), *resident, check.guest_allowed_bytes());
    if (change == MemoryVerdict::Change::kFlagged) {
      LOG(WARNING) << "VM '" << id_ << "': memory flagged (" << check.mode()
                   << "): " << verdict_.reason() << "; resident " << *resident << " bytes, allowed "
                   << check.guest_allowed_bytes() << " bytes (mem_size " << mem_size
                   << ", balloon actual " << ballooned << ")";
      events.emplace_back(v1::VM_EVENT_MEMORY_FLAGGED, verdict_.reason());
    } else if (change == MemoryVerdict::Change::kCleared) {
      LOG(INFO) << "VM '" << id_ << "': memory no longer flagged; resident " << *resident
                << " bytes, allowed " << check.guest_allowed_bytes() << " bytes";
      events.emplace_back(v1::VM_EVENT_MEMORY_CLEARED,
                          absl::StrCat("guest holds ", *resident >> 20, " MiB, allowed ",
                                       check.guest_allowed_bytes() >> 20, " MiB"));
    }
  }
  if (!stats_were_flagged && check.stats_flagged()) {
    events.emplace_back(v1::VM_EVENT_STATS_FLAGGED, check.stats_reason());
  }
  check.set_flagged(verdict_.flagged());
  check.set_reason(verdict_.reason());
  check.set_flag_count(verdict_.flag_count());
  enforcement_ = check;
  *last_.mutable_memory_enforcement() = check;
  }
  for (const auto& [kind, reason] : events) Publish(kind, reason, check);
}

void VmInstance::Publish(v1::VmEventKind kind, const std::string& reason,
                         const v1::MemoryEnforcement& check) {
  if (!options_.on_event) return;
  v1::VmEvent event;
  event.set_vm_id(id_);
  event.set_kind(kind);
  event.set_reason(reason);
  *event.mutable_memory_enforcement() = check;
  event.set_unix_time_ms(absl::ToUnixMillis(absl::Now()));
  options_.on_event(event);
}

uint64_t VmInstance::BalloonLimit(const v1::VmConfig& config, uint32_t ballooned_mib) const {
  const uint32_t mem = config.machine_config().mem_size_mib();
  return MemoryLimit(mem > ballooned_mib ? mem - ballooned_mib : 0);
}

void VmInstance::FollowBalloon(const v1::Vm& vm, v1::MemoryEnforcement& check) {
  // Lowered only once the inflate completed (actual reached it), never
  // below what a pending deflate will give back: min(actual, target).
  const uint32_t ballooned = std::min(vm.balloon_actual_mib(), vm.balloon_target_mib());
  const uint64_t limit = BalloonLimit(vm.config(), ballooned);
  absl::StatusOr<uint64_t> current = cgroup_->Limit();
  if (current.ok() && *current == limit) return;
  absl::Status set = cgroup_->SetLimit(limit);
  if (!set.ok()) {
    // v1 refuses (EBUSY) a limit below what the VMM holds. Once the inflate
    // has completed that is the guest keeping pages its balloon claims: past
    // the grace period the limit is applied the only way left, by ending
    // the VMM (as the kernel would at the limit).
    check.set_note(absl::StrCat("limit ", limit >> 20, " MiB not set: ", set.message()));
    LOG_EVERY_N(WARNING, 10) << "VM '" << id_ << "': " << check.note();
    const absl::Time now = absl::Now();
    if (limit_refused_since_ == absl::InfinitePast()) limit_refused_since_ = now;
    if (vm.balloon_actual_mib() >= vm.balloon_target_mib() &&
        now - limit_refused_since_ >= options_.memory_verdict.grace) {
      {
        absl::MutexLock lock(&mu_);
        limit_kill_reason_ = absl::StrCat(
            "killed at its memory limit (", limit >> 20,
            " MiB: the guest RAM its balloon leaves it + the VMM allowance): the guest kept "
            "using memory its balloon claims, so the limit could not be lowered");
      }
      LOG(WARNING) << "VM '" << id_ << "': " << check.note() << " for "
                   << absl::FormatDuration(now - limit_refused_since_) << ": ending blimp-vmm";
      Signal(SIGKILL);
    }
    return;
  }
  limit_refused_since_ = absl::InfinitePast();
  check.set_cgroup_limit_bytes(limit);
  VLOG(1) << "VM '" << id_ << "': memory limit " << (limit >> 20) << " MiB (balloon "
          << ballooned << " MiB)";
}

absl::Status VmInstance::BeforeBalloonTarget(uint32_t amount_mib) {
  if (!cgroup_) return absl::OkStatus();
  v1::Vm vm = LastKnown();
  if (vm.config().balloon().memory_enforcement() != "limit") return absl::OkStatus();
  // Room for every page this target can give back, before the guest can
  // deflate at all.
  const uint64_t limit = BalloonLimit(vm.config(), amount_mib);
  ASSIGN_OR_RETURN(uint64_t current, cgroup_->Limit());
  if (limit <= current) return absl::OkStatus();
  LOG(INFO) << "VM '" << id_ << "': memory limit raised to " << (limit >> 20)
            << " MiB before the balloon target goes to " << amount_mib << " MiB";
  return cgroup_->SetLimit(limit);
}

void VmInstance::Detach() {
  {
    absl::MutexLock lock(&mu_);
    if (!watching_) return;
    watching_ = false;
  }
  loop_.Remove(pidfd_.get()).IgnoreError();
  LOG(INFO) << "VM '" << id_ << "': left running (blimp-vmm pid " << pid_
            << ") for the next blimpd";
}

void VmInstance::Close() {
  // A live VMM keeps its socket: it may be adopted again.
  if (pid_ > 0 && exited()) {
    ::unlink(ControlSocket().c_str());
    RemoveMemoryCgroup();
  }
}

}  // namespace blimp::daemon

#include "daemon/supervisor.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/validate.h"
#include "base/errno_status.h"
#include "base/host_memory.h"
#include "base/pid_lock.h"
#include "base/status_macros.h"
#include "daemon/gather.h"
#include "daemon/run_dir.h"
#include "daemon/sparse_file.h"
#include "glog/logging.h"
#include "vmm/control/instance_lock.h"
#include "vmm/snapshot/snapshot_file.h"

namespace blimp::daemon {
namespace {

namespace v1 = blimp::v1;

absl::Status NoSuchVm(const std::string& vm_id) {
  return absl::NotFoundError(absl::StrCat("no such VM '", vm_id, "'"));
}

}  // namespace

api::SnapshotFiles FolderSnapshotFiles(const std::string& vm_dir) {
  return {absl::StrCat(vm_dir, "/", kSnapshotStateFile),
          absl::StrCat(vm_dir, "/", kSnapshotMemoryFile)};
}

void RemoveFolderSnapshot(const api::SnapshotFiles& files) {
  ::unlink(files.state_path.c_str());
  ::unlink(files.memory_path.c_str());
}

absl::StatusOr<std::unique_ptr<Supervisor>> Supervisor::Create(SupervisorOptions options) {
  const std::string vms = absl::StrCat(options.run_dir, "/", kVmsDir);
  if (::mkdir(vms.c_str(), 0700) < 0 && errno != EEXIST) {
    return base::ErrnoStatus("mkdir " + vms);
  }
  if (options.jail) {
    const std::string jail = absl::StrCat(options.run_dir, "/", kJailDir);
    if (::mkdir(jail.c_str(), 0700) < 0 && errno != EEXIST) {
      return base::ErrnoStatus("mkdir " + jail);
    }
    if (::geteuid() != 0) {
      return absl::FailedPreconditionError("the jail (--jail) needs blimpd to run as root");
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<base::EventLoop> loop, base::EventLoop::Create());
  std::unique_ptr<Supervisor> supervisor(new Supervisor(std::move(options), std::move(loop)));
  supervisor->AdoptRunningVms();
  return supervisor;
}

void Supervisor::AdoptRunningVms() {
  std::vector<std::string> ids;
  for (const std::string& name : ListDir(absl::StrCat(options_.run_dir, "/", kVmsDir))) {
    if (api::ValidateVmId(name).ok()) ids.push_back(name);
  }
  std::vector<absl::StatusOr<std::shared_ptr<VmInstance>>> adopted(
      ids.size(), absl::UnknownError("not tried"));
  std::vector<std::thread> adopters;
  for (size_t i = 0; i < ids.size(); ++i) {
    adopters.emplace_back([this, &ids, &adopted, i] {
      adopted[i] = VmInstance::Adopt(ids[i], VmDir(ids[i]), instance_options_, *loop_,
                                     options_.describe_timeout);
    });
  }
  for (std::thread& adopter : adopters) adopter.join();
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!adopted[i].ok()) {
      if (!absl::IsNotFound(adopted[i].status())) {
        LOG(ERROR) << "VM '" << ids[i] << "': cannot adopt its blimp-vmm: " << adopted[i].status();
      }
      continue;  // A leftover folder: CreateVm may reuse the id.
    }
    LOG(INFO) << "VM '" << ids[i] << "' adopted (blimp-vmm pid " << (*adopted[i])->pid() << ")";
    Entry& entry = vms_[ids[i]];
    entry.instance = *std::move(adopted[i]);
    // A jailed VMM's user owns its folder: that uid stays taken.
    struct stat st;
    if (options_.jail && ::stat(VmDir(ids[i]).c_str(), &st) == 0 && st.st_uid != 0) {
      entry.jail_uid = st.st_uid;
    }
  }
}

Supervisor::Supervisor(SupervisorOptions options, std::unique_ptr<base::EventLoop> loop)
    : options_(std::move(options)),
      console_totals_(std::make_shared<ConsoleTotals>()),
      loop_(std::move(loop)) {
  instance_options_.vmm_binary = options_.vmm_binary;
  instance_options_.ready_timeout = options_.ready_timeout;
  instance_options_.rpc_timeout = options_.rpc_timeout;
  instance_options_.start_timeout = options_.start_timeout;
  instance_options_.stop_grace = options_.stop_grace;
  instance_options_.term_grace = options_.term_grace;
  instance_options_.console_log_max_bytes = options_.console_log_max_bytes;
  instance_options_.console_totals = console_totals_;
  instance_options_.memory_cgroup_parent = options_.memory_cgroup_parent;
  instance_options_.vmm_memory_allowance_bytes = options_.vmm_memory_allowance_bytes;
  instance_options_.memory_verdict = options_.memory_verdict;
  instance_options_.on_event = options_.on_vm_event;
  if (options_.jail) instance_options_.jail_root = absl::StrCat(options_.run_dir, "/", kJailDir);
  image_rules_.allowed_dirs = options_.allowed_image_dirs;
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
  std::vector<std::pair<std::string, std::string>> known;
  {
    absl::MutexLock lock(&mu_);
    hooks_ = hooks;
    for (const auto& [id, entry] : vms_) {
      if (entry.instance != nullptr && !entry.deleting) known.emplace_back(id, entry.instance->dir());
    }
  }
  if (!hooks.on_created) return;
  for (const auto& [id, dir] : known) hooks.on_created(id, dir);
}

std::string Supervisor::VmDir(const std::string& vm_id) const {
  return daemon::VmDir(options_.run_dir, vm_id);
}

absl::StatusOr<std::shared_ptr<VmInstance>> Supervisor::Find(const std::string& vm_id) {
  RETURN_IF_ERROR(api::ValidateVmId(vm_id));
  absl::MutexLock lock(&mu_);
  auto it = vms_.find(vm_id);
  if (it == vms_.end() || it->second.instance == nullptr || it->second.deleting) {
    return NoSuchVm(vm_id);
  }
  return it->second.instance;
}

bool Supervisor::IsCurrent(const std::shared_ptr<VmInstance>& vm) {
  absl::MutexLock lock(&mu_);
  auto it = vms_.find(vm->id());
  return it != vms_.end() && it->second.instance == vm && !it->second.deleting;
}

absl::Status Supervisor::CheckBootSource(const v1::BootSource& boot) const {
  RETURN_IF_ERROR(
      base::CheckImageFile("kernel_image_path", boot.kernel_image_path(), image_rules_));
  if (!boot.initrd_path().empty()) {
    RETURN_IF_ERROR(base::CheckImageFile("initrd_path", boot.initrd_path(), image_rules_));
  }
  if (!options_.jail) return absl::OkStatus();
  // A jailed VMM opens its images as its own, unprivileged user.
  for (const auto& [field, path] : {std::pair<const char*, std::string>{"kernel_image_path",
                                                                         boot.kernel_image_path()},
                                    {"initrd_path", boot.initrd_path()}}) {
    struct stat st;
    if (path.empty() || ::stat(path.c_str(), &st) != 0) continue;
    if ((st.st_mode & S_IROTH) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, " '", path, "' is not readable by others (mode ",
          absl::StrFormat("%04o", st.st_mode & 07777),
          "): the jailed blimp-vmm runs as its own user; make it world-readable (chmod o+r)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uid_t> Supervisor::TakeJailUidLocked() {
  if (!options_.jail) return 0;
  std::set<uid_t> used;
  for (const auto& [id, entry] : vms_) used.insert(entry.jail_uid);
  for (uint32_t n = 0; n < options_.jail_uid_count; ++n) {
    const uid_t uid = options_.jail_uid_base + n;
    if (used.count(uid) == 0) return uid;
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "every jail uid (", options_.jail_uid_base, " + ", options_.jail_uid_count,
      ", --jail-uid-base/--jail-uid-count) is in use"));
}

absl::Status Supervisor::MakeVmDir(const std::string& dir) {
  const std::string control = absl::StrCat(dir, "/", kControlSocket);
  if (base::PidFileLocked(vmm::control::ControlSocketLock(control))) {
    // Never a second VMM for one VM, nor a folder deleted under a live one.
    return absl::AlreadyExistsError(absl::StrCat(
        "a blimp-vmm still runs in ", dir, " and this blimpd could not adopt it (see its log)"));
  }
  struct stat st;
  if (::lstat(dir.c_str(), &st) == 0) {
    // Left by a VM of a previous daemon (its logs): the id is free now.
    LOG(WARNING) << "removing the leftover folder " << dir;
    RETURN_IF_ERROR(RemoveTree(dir));
  }
  if (::mkdir(dir.c_str(), 0700) < 0) return base::ErrnoStatus("mkdir " + dir);
  return absl::OkStatus();
}

void Supervisor::Erase(const std::string& vm_id) {
  absl::Status removed = RemoveTree(VmDir(vm_id));
  if (!removed.ok()) LOG(WARNING) << removed;
  absl::MutexLock lock(&mu_);
  vms_.erase(vm_id);
}

absl::StatusOr<uid_t> Supervisor::Reserve(const std::string& vm_id) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return absl::UnavailableError("blimpd is shutting down");
  if (vms_.count(vm_id) != 0) {
    return absl::AlreadyExistsError(absl::StrCat("VM '", vm_id, "' already exists"));
  }
  ASSIGN_OR_RETURN(uid_t jail_uid, TakeJailUidLocked());
  vms_[vm_id] = Entry{nullptr, false, jail_uid};  // Reserved: the id is taken from now on.
  return jail_uid;
}

absl::StatusOr<v1::Vm> Supervisor::Register(const std::string& vm_id,
                                            absl::StatusOr<std::shared_ptr<VmInstance>> vm,
                                            absl::Time begin) {
  if (!vm.ok()) {
    LOG(WARNING) << "create VM '" << vm_id << "': " << vm.status();
    Erase(vm_id);
    return vm.status();
  }
  VmHooks hooks;
  bool shutting_down;
  {
    absl::MutexLock lock(&mu_);
    shutting_down = shut_down_;
    if (!shutting_down) vms_[vm_id].instance = *vm;
    hooks = hooks_;
  }
  if (shutting_down) {
    (*vm)->Stop();
    (*vm)->Close();
    Erase(vm_id);
    return absl::UnavailableError("blimpd is shutting down");
  }
  LOG(INFO) << "VM '" << vm_id << "' created (blimp-vmm pid " << (*vm)->pid() << ", ready in "
            << absl::FormatDuration(absl::Now() - begin) << ")";
  if (hooks.on_created) hooks.on_created(vm_id, (*vm)->dir());
  return (*vm)->Describe(options_.describe_timeout);
}

absl::StatusOr<v1::Vm> Supervisor::CreateVm(const std::string& vm_id,
                                            const v1::VmConfig& config) {
  RETURN_IF_ERROR(api::ValidateVmId(vm_id));
  RETURN_IF_ERROR(api::ValidateVmConfig(config));
  // What blimp-vmm would refuse after its spawn, refused before it.
  RETURN_IF_ERROR(CheckBootSource(config.boot_source()));
  RETURN_IF_ERROR(base::CheckMemoryFitsHost(config.machine_config().mem_size_mib()));
  ASSIGN_OR_RETURN(uid_t jail_uid, Reserve(vm_id));
  const absl::Time begin = absl::Now();
  const std::string dir = VmDir(vm_id);
  absl::Status made = MakeVmDir(dir);
  return Register(vm_id,
                  made.ok() ? VmInstance::Launch(vm_id, dir, config, instance_options_, *loop_,
                                                 jail_uid)
                            : made,
                  begin);
}

absl::StatusOr<v1::Vm> Supervisor::RestoreVm(const std::string& vm_id, bool resume,
                                             const SnapshotFill& fill) {
  RETURN_IF_ERROR(api::ValidateVmId(vm_id));
  ASSIGN_OR_RETURN(uid_t jail_uid, Reserve(vm_id));
  const absl::Time begin = absl::Now();
  const std::string dir = VmDir(vm_id);
  const api::SnapshotFiles files = FolderSnapshotFiles(dir);
  auto launch = [&]() -> absl::StatusOr<std::shared_ptr<VmInstance>> {
    RETURN_IF_ERROR(MakeVmDir(dir));
    RETURN_IF_ERROR(fill(files));
    // Checked here before a VMM is spawned for it (blimp-vmm checks again).
    absl::StatusOr<vmm::snapshot::VmState> read = vmm::snapshot::ReadSnapshot(files.state_path);
    if (!read.ok()) return absl::InvalidArgumentError(read.status().message());
    const vmm::snapshot::VmState& state = *read;
    RETURN_IF_ERROR(api::ValidateVmConfig(state.config()));
    RETURN_IF_ERROR(base::CheckMemoryFitsHost(state.config().machine_config().mem_size_mib()));
    if (jail_uid != 0) {
      for (const std::string& path : {files.state_path, files.memory_path}) {
        if (::chown(path.c_str(), jail_uid, jail_uid) != 0) {
          return base::ErrnoStatus(absl::StrCat("chown ", path));
        }
      }
    }
    return VmInstance::Restore(vm_id, dir, state.config(), files, resume, instance_options_,
                               *loop_, jail_uid);
  };
  return Register(vm_id, launch(), begin);
}

absl::StatusOr<v1::Vm> Supervisor::CreateVmFromSnapshot(const std::string& vm_id,
                                                        const v1::SnapshotLoadParams& params) {
  RETURN_IF_ERROR(api::ValidateVmId(vm_id));
  ASSIGN_OR_RETURN(api::SnapshotFiles from, api::SnapshotLoadFiles(params));
  for (const std::string& path : {from.state_path, from.memory_path}) {
    if (::access(path.c_str(), R_OK) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read snapshot file '", path, "': ", std::strerror(errno)));
    }
  }
  return RestoreVm(vm_id, params.resume_vm(), [&](const api::SnapshotFiles& into) {
    // Copies: the VM never depends on files a user may change or remove
    // (a private mapping of a file that changes underneath is undefined).
    absl::Status copied = CopySparse(from.state_path, into.state_path);
    if (copied.ok()) copied = CopySparse(from.memory_path, into.memory_path);
    return copied.ok() ? copied : absl::InvalidArgumentError(copied.message());
  });
}

absl::Status Supervisor::PutBootSource(const std::string& vm_id, const v1::BootSource& boot) {
  ASSIGN_OR_RETURN(std::shared_ptr<VmInstance> vm, Find(vm_id));
  RETURN_IF_ERROR(api::ValidateBootSource(boot));
  RETURN_IF_ERROR(CheckBootSource(boot));
  RETURN_IF_ERROR(vm->ExposeImages(boot));
  return vm->PutBootSource(boot);
}

absl::Status Supervisor::PutMachineConfig(const std::string& vm_id,
                                          const v1::MachineConfig& machine) {
  ASSIGN_OR_RETURN(std::shared_ptr<VmInstance> vm, Find(vm_id));
  RETURN_IF_ERROR(base::CheckMemoryFitsHost(machine.mem_size_mib()));
  return vm->PutMachineConfig(machine);
}

absl::StatusOr<v1::Vm> Supervisor::StartVm(const std::string& vm_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<VmInstance> vm, Find(vm_id));
  absl::StatusOr<v1::Vm> started = vm->Start();
  // A DeleteVm or StopVm that ran meanwhile wins, whatever the child said:
  // a VM that is not running is never reported as started.
  if (!IsCurrent(vm)) {
    return absl::NotFoundError(absl::StrCat("VM '", vm_id, "' was deleted while starting"));
  }
  if (vm->stop_requested()) {
    return absl::AbortedError(absl::StrCat("VM '", vm_id, "' was stopped while starting"));
  }
  if (!started.ok()) return started.status();
  if (started->state() != v1::VM_STATE_RUNNING || vm->exited()) {
    const v1::Vm now = vm->LastKnown();
    return absl::AbortedError(absl::StrCat("VM '", vm_id, "' is ",
                                           v1::VmState_Name(now.state()),
                                           " after StartVm: ", now.reason()));
  }
  return started;
}

absl::StatusOr<v1::Vm> Supervisor::StopVm(const std::string& vm_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<VmInstance> vm, Find(vm_id));
  if (vm->exited()) {
    return absl::FailedPreconditionError(absl::StrCat("VM '", vm_id, "' is not running"));
  }
  vm->Stop();
  return vm->LastKnown();
}

absl::StatusOr<v1::Vm> Supervisor::SetPaused(const std::string& vm_id, bool paused) {
  ASSIGN_OR_RETURN(std::shared_ptr<VmInstance> vm, Find(vm_id));
  return vm->SetPaused(paused);
}

absl::StatusOr<FolderSnapshot> Supervisor::SnapshotInFolder(const std::string& vm_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<VmInstance> vm, Running(vm_id));
  {
    absl::MutexLock lock(&mu_);
    if (!snapshotting_.insert(vm_id).second) {
      return absl::FailedPreconditionError(
          absl::StrCat("a snapshot or migration of VM '", vm_id, "' is in progress"));
    }
  }
  FolderSnapshot snapshot{FolderSnapshotFiles(vm->dir()), {}};
  RemoveFolderSnapshot(snapshot.files);  // A leftover of a VMM killed mid-snapshot.
  v1::SnapshotCreateParams params;
  params.set_snapshot_type("Full");
  params.set_snapshot_path(snapshot.files.state_path);
  params.set_mem_file_path(snapshot.files.memory_path);
  absl::StatusOr<v1::SnapshotInfo> info = vm->CreateSnapshot(params);
  absl::MutexLock lock(&mu_);
  snapshotting_.erase(vm_id);
  if (!info.ok()) return info.status();
  snapshot.info = *info;
  return snapshot;
}

absl::StatusOr<v1::SnapshotInfo> Supervisor::CreateSnapshot(
    const std::string& vm_id, const v1::SnapshotCreateParams& params) {
  RETURN_IF_ERROR(api::ValidateVmId(vm_id));
  ASSIGN_OR_RETURN(api::SnapshotFiles to, api::SnapshotCreateFiles(params));
  for (const std::string& path : {to.state_path, to.memory_path}) {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", path, "' exists; a snapshot never replaces a file"));
    }
    const std::string parent = path.substr(0, path.rfind('/') + 1);
    if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat("no folder '", parent, "' for '", path, "'"));
    }
  }
  ASSIGN_OR_RETURN(FolderSnapshot snapshot, SnapshotInFolder(vm_id));
  absl::Status moved = MoveFile(snapshot.files.memory_path, to.memory_path);
  if (moved.ok()) {
    moved = MoveFile(snapshot.files.state_path, to.state_path);
    if (!moved.ok()) ::unlink(to.memory_path.c_str());
  }
  RemoveFolderSnapshot(snapshot.files);
  if (!moved.ok()) return absl::InvalidArgumentError(moved.message());
  return snapshot.info;
}

absl::Status Supervisor::DeleteVm(const std::string& vm_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<VmInstance> vm, Find(vm_id));
  VmHooks hooks;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(vm_id);
    if (it == vms_.end() || it->second.instance != vm || it->second.deleting) {
      return NoSuchVm(vm_id);
    }
    it->second.deleting = true;
    hooks = hooks_;
  }
  if (hooks.on_deleted) hooks.on_deleted(vm_id);
  vm->Stop();
  vm->Close();
  Erase(vm_id);
  LOG(INFO) << "VM '" << vm_id << "' deleted";
  return absl::OkStatus();
}

absl::StatusOr<v1::Vm> Supervisor::GetVm(const std::string& vm_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<VmInstance> vm, Find(vm_id));
  return vm->Describe(options_.describe_timeout);
}

std::vector<std::shared_ptr<VmInstance>> Supervisor::Listed() {
  std::vector<std::shared_ptr<VmInstance>> vms;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, entry] : vms_) {
    if (entry.instance != nullptr && !entry.deleting) vms.push_back(entry.instance);
  }
  return vms;
}

std::vector<v1::Vm> Supervisor::ListVms() {
  std::vector<std::shared_ptr<VmInstance>> vms = Listed();
  std::vector<std::function<v1::Vm()>> calls;
  const absl::Duration timeout = options_.describe_timeout;
  for (const auto& vm : vms) calls.push_back([vm, timeout] { return vm->Describe(timeout); });
  // The margin covers the call's own timer.
  std::vector<std::optional<v1::Vm>> answers =
      GatherWithin(std::move(calls), timeout + absl::Milliseconds(200));
  std::vector<v1::Vm> result;
  for (size_t i = 0; i < vms.size(); ++i) {
    result.push_back(answers[i] ? *std::move(answers[i]) : vms[i]->LastKnown());
  }
  return result;
}

absl::StatusOr<std::shared_ptr<VmInstance>> Supervisor::Running(const std::string& vm_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<VmInstance> vm, Find(vm_id));
  if (vm->exited()) {
    return absl::FailedPreconditionError(absl::StrCat("VM '", vm_id, "' is not running"));
  }
  return vm;
}

std::vector<std::shared_ptr<VmInstance>> Supervisor::CloseForGood(VmHooks* hooks) {
  std::vector<std::shared_ptr<VmInstance>> vms;
  absl::MutexLock lock(&mu_);
  if (shut_down_) return vms;
  shut_down_ = true;
  for (const auto& [id, entry] : vms_) {
    if (entry.instance != nullptr) vms.push_back(entry.instance);
  }
  *hooks = hooks_;
  return vms;
}

void Supervisor::Shutdown() {
  VmHooks hooks;
  std::vector<std::shared_ptr<VmInstance>> vms = CloseForGood(&hooks);
  std::vector<std::thread> stoppers;
  for (const auto& vm : vms) {
    stoppers.emplace_back([vm, &hooks] {
      if (hooks.on_deleted) hooks.on_deleted(vm->id());
      vm->Stop();
      vm->Close();
    });
  }
  for (std::thread& stopper : stoppers) stopper.join();
  if (!vms.empty()) LOG(INFO) << "supervisor: " << vms.size() << " VM(s) stopped";
}

void Supervisor::Detach() {
  VmHooks hooks;
  std::vector<std::shared_ptr<VmInstance>> vms = CloseForGood(&hooks);
  for (const auto& vm : vms) {
    if (hooks.on_deleted) hooks.on_deleted(vm->id());
    vm->Detach();
  }
  if (!vms.empty()) {
    LOG(INFO) << "supervisor: " << vms.size() << " VM(s) left running for the next blimpd";
  }
}

}  // namespace blimp::daemon

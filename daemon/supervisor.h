// Supervisor: blimpd's VMs by id, one VmInstance (one blimp-vmm child) each.
// It owns the id namespace (<run-dir>/vms/<id>/, 0700), the checks that run
// before any process is spawned (config, kernel/initrd files, memory), the
// hooks that tell the REST gateway about VMs, and shutdown. Everything about
// one VM's process (launch, readiness, exit, stop, describe, forwarding) is
// VmInstance's. At start it adopts every blimp-vmm an earlier blimpd left
// running in <run-dir>/vms/ (after a crash, kill -9, or Detach() for an
// upgrade). GetVm/ListVms never wait longer than describe_timeout per
// call, whatever a VM does: running VMs are asked in parallel and fall back
// to their last known state.
// Thread-safe; calls on different VMs do not wait for each other.
#ifndef BLIMP_DAEMON_SUPERVISOR_H_
#define BLIMP_DAEMON_SUPERVISOR_H_

#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/event_loop.h"
#include "api/snapshot_params.h"
#include "base/image_file_check.h"
#include "daemon/vm_instance.h"
#include "proto/blimp/v1/vm_service.pb.h"

namespace blimp::daemon {

struct SupervisorOptions {
  std::string run_dir;     // Must exist (LockRunDir); vms/ is made if missing.
  std::string vmm_binary;  // Path of blimp-vmm.
  absl::Duration ready_timeout = absl::Seconds(10);  // Until control.sock answers.
  absl::Duration rpc_timeout = absl::Seconds(5);     // Each forwarded call.
  absl::Duration start_timeout = absl::Seconds(30);  // StartVm (boot).
  absl::Duration stop_grace = absl::Seconds(3);      // After StopVm, before SIGTERM.
  absl::Duration term_grace = absl::Seconds(3);      // After SIGTERM, before SIGKILL.
  // The longest GetVm/ListVms (and CreateVm's answer) waits for a VM's state.
  absl::Duration describe_timeout = absl::Seconds(1);
  uint64_t console_log_max_bytes = kDefaultConsoleLogMaxBytes;
  // Resolved (base::ResolveAllowedDirs); empty = images anywhere.
  std::vector<std::string> allowed_image_dirs;
  // Each blimp-vmm jailed (daemon/jail.h) as its own user: uid and gid
  // jail_uid_base + n for the lowest n < jail_uid_count no other VM uses.
  bool jail = false;
  uid_t jail_uid_base = 900000;
  uint32_t jail_uid_count = 10000;
  // Each blimp-vmm in its own memory cgroup <memory_cgroup_parent>/<id>
  // (an existing folder; empty = none), limited to guest RAM + allowance.
  std::string memory_cgroup_parent;
  uint64_t vmm_memory_allowance_bytes = uint64_t{64} << 20;
  MemoryVerdictOptions memory_verdict;  // The memory check's slack and grace.
  std::function<void(const blimp::v1::VmEvent&)> on_vm_event;  // WatchVmEvents.
};

// Called outside any lock once a VM answers / before its folder goes away
// (e.g. the REST gateway's per-VM firecracker.socket).
struct VmHooks {
  std::function<void(const std::string& vm_id, const std::string& dir)> on_created;
  std::function<void(const std::string& vm_id)> on_deleted;
};

// A snapshot in a VM's own folder.
struct FolderSnapshot {
  api::SnapshotFiles files;
  blimp::v1::SnapshotInfo info;
};
inline constexpr char kSnapshotStateFile[] = "snapshot.state";
inline constexpr char kSnapshotMemoryFile[] = "snapshot.mem";
api::SnapshotFiles FolderSnapshotFiles(const std::string& vm_dir);
void RemoveFolderSnapshot(const api::SnapshotFiles& files);

class Supervisor {
 public:
  // Starts the event loop thread (VMM exits) and adopts the VMMs left
  // running in <run-dir>/vms/ (within about describe_timeout in total).
  static absl::StatusOr<std::unique_ptr<Supervisor>> Create(SupervisorOptions options);
  ~Supervisor();  // Shutdown().

  // Also calls hooks.on_created for every VM already known (adopted ones).
  void SetHooks(VmHooks hooks);

  // INVALID_ARGUMENT (id, config, kernel/initrd file, memory larger than the
  // host: all checked before a blimp-vmm is spawned, or a config blimp-vmm
  // refuses), ALREADY_EXISTS (also when a blimp-vmm this daemon did not
  // adopt still runs for that id), UNAVAILABLE after Shutdown.
  absl::StatusOr<blimp::v1::Vm> CreateVm(const std::string& vm_id,
                                         const blimp::v1::VmConfig& config);
  absl::Status PutBootSource(const std::string& vm_id, const blimp::v1::BootSource& boot);
  absl::Status PutMachineConfig(const std::string& vm_id,
                                const blimp::v1::MachineConfig& machine);
  // The VM, RUNNING. NOT_FOUND if it is deleted while starting, ABORTED if
  // it is stopped meanwhile or not running after the boot.
  absl::StatusOr<blimp::v1::Vm> StartVm(const std::string& vm_id);
  // Asks the child to stop, then SIGTERM, then SIGKILL; the VM stays listed.
  absl::StatusOr<blimp::v1::Vm> StopVm(const std::string& vm_id);
  // PauseVm (paused) and ResumeVm, forwarded to the VMM.
  absl::StatusOr<blimp::v1::Vm> SetPaused(const std::string& vm_id, bool paused);
  // PUT /snapshot/create on a paused VM: its state and memory into the new
  // host files `params` names (never replacing one). The VMM writes them in
  // its own folder (all a jailed VMM sees); blimpd moves them there.
  absl::StatusOr<blimp::v1::SnapshotInfo> CreateSnapshot(
      const std::string& vm_id, const blimp::v1::SnapshotCreateParams& params);
  // A snapshot of the paused VM in its own folder (FolderSnapshotFiles), for
  // MigrateVm; the caller removes it (RemoveFolderSnapshot). One at a time
  // per VM: FAILED_PRECONDITION while another runs.
  absl::StatusOr<FolderSnapshot> SnapshotInFolder(const std::string& vm_id);
  // Creates VM `vm_id` from a snapshot that `fill` writes into the new VM's
  // folder (the files it is given), checked before a blimp-vmm is spawned
  // for it; running if `resume`, else paused. On failure nothing is left.
  using SnapshotFill = std::function<absl::Status(const api::SnapshotFiles& into)>;
  absl::StatusOr<blimp::v1::Vm> RestoreVm(const std::string& vm_id, bool resume,
                                          const SnapshotFill& fill);
  // CreateVm from the snapshot files `params` names (PUT /snapshot/load's
  // body): copied into the VM's folder (sparse) and restored.
  absl::StatusOr<blimp::v1::Vm> CreateVmFromSnapshot(const std::string& vm_id,
                                                     const blimp::v1::SnapshotLoadParams& params);
  // Stops the VM if needed, removes its folder and forgets it.
  absl::Status DeleteVm(const std::string& vm_id);
  // Within describe_timeout (the last known state if the VM does not answer).
  absl::StatusOr<blimp::v1::Vm> GetVm(const std::string& vm_id);
  // Within about describe_timeout in total, whatever the number of VMs.
  std::vector<blimp::v1::Vm> ListVms();
  // The VMs ListVms shows (created, not being deleted), in id order, for
  // callers that ask each VM more than its state (GET /metrics).
  std::vector<std::shared_ptr<VmInstance>> Listed();

  // A VM whose blimp-vmm runs, for its balloon calls: INVALID_ARGUMENT,
  // NOT_FOUND "no such VM 'x'", FAILED_PRECONDITION if its process has
  // exited.
  absl::StatusOr<std::shared_ptr<VmInstance>> Running(const std::string& vm_id);

  // Stops every VM (in parallel) and refuses new ones. Idempotent. VM
  // folders stay (their logs), sockets go.
  void Shutdown();
  // Leaves every VM running for the next blimpd to adopt (the upgrade
  // path) and refuses new ones. Idempotent; Shutdown() after it does nothing.
  void Detach();

  // <run-dir>/vms/<id>.
  std::string VmDir(const std::string& vm_id) const;
  const SupervisorOptions& options() const { return options_; }
  // console.log bytes and rotations of every VM, for metrics.
  const ConsoleTotals& console_totals() const { return *console_totals_; }

 private:
  struct Entry {
    std::shared_ptr<VmInstance> instance;  // Null while it is being created.
    bool deleting = false;
    uid_t jail_uid = 0;  // Its VMM's user in a jail, 0 without.
  };

  Supervisor(SupervisorOptions options, std::unique_ptr<base::EventLoop> loop);

  absl::StatusOr<std::shared_ptr<VmInstance>> Find(const std::string& vm_id);
  // Whether `vm` is still the live instance of its id (not deleted).
  bool IsCurrent(const std::shared_ptr<VmInstance>& vm);
  // The image checks, and in a jail: readable by the VM's user.
  absl::Status CheckBootSource(const blimp::v1::BootSource& boot) const;
  // The lowest free jail uid, taken; 0 without a jail. RESOURCE_EXHAUSTED
  // when every uid of the range is in use.
  absl::StatusOr<uid_t> TakeJailUidLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MakeVmDir(const std::string& dir);
  // Takes the id (and a jail uid) for a VM being created: ALREADY_EXISTS,
  // UNAVAILABLE after Shutdown.
  absl::StatusOr<uid_t> Reserve(const std::string& vm_id);
  // The launched VM listed under its reserved id, or the id freed again.
  absl::StatusOr<blimp::v1::Vm> Register(const std::string& vm_id,
                                         absl::StatusOr<std::shared_ptr<VmInstance>> vm,
                                         absl::Time begin);
  // Refuses new VMs from now on; the VMs to stop or detach and the hooks
  // (none if it was done already).
  std::vector<std::shared_ptr<VmInstance>> CloseForGood(VmHooks* hooks);
  // Adopts the VMMs running in <run-dir>/vms/, in parallel.
  void AdoptRunningVms();
  void Erase(const std::string& vm_id);

  const SupervisorOptions options_;
  VmInstanceOptions instance_options_;
  base::ImageFileRules image_rules_;
  std::shared_ptr<ConsoleTotals> console_totals_;
  std::unique_ptr<base::EventLoop> loop_;
  std::thread loop_thread_;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, Entry> vms_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> snapshotting_ ABSL_GUARDED_BY(mu_);  // SnapshotInFolder running.
  VmHooks hooks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_SUPERVISOR_H_

// VmInstance: one VM's blimp-vmm process, from spawn (or adoption) to its
// end. It launches the VMM in the VM's folder (config.json, control.sock,
// console.log and console.sock, which the VMM serves itself, vmm.log), waits
// until the control socket answers, watches the exit through a pidfd on the
// daemon's EventLoop, sends the VM calls over the internal control protocol
// (vmm/control/) with bounded deadlines, stops the VMM (stop -> SIGTERM ->
// SIGKILL) and describes the VM, falling back to the last known state (pid
// and RSS from /proc) when the VMM does not answer in time. The Supervisor
// owns the id -> instance map and the folder.
//
// Launch() = spawn + Attach() + WaitUntilReady(). Adopt() re-attaches to a
// blimp-vmm left running by an earlier blimpd (crashed, killed or detached
// for an upgrade): found by the lock it holds on control.sock.lock, then
// pidfd_open(pid) + Attach(). Everything after the spawn depends only on the
// pid, its pidfd and the folder; nothing of the VMM depends on the daemon.
// Thread-safe.
#ifndef BLIMP_DAEMON_VM_INSTANCE_H_
#define BLIMP_DAEMON_VM_INSTANCE_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/snapshot_params.h"
#include "base/event_loop.h"
#include "base/unique_fd.h"
#include "daemon/console_totals.h"
#include "daemon/guest_ram_resident.h"
#include "daemon/memory_cgroup.h"
#include "daemon/memory_verdict.h"
#include "daemon/stats_sanity.h"
#include "proto/blimp/v1/vm_service.pb.h"
#include "vmm/control/control_client.h"
#include "vmm/control/vm_control.h"

namespace blimp::daemon {

struct VmInstanceOptions {
  std::string vmm_binary;
  absl::Duration ready_timeout = absl::Seconds(10);  // Until control.sock answers.
  absl::Duration rpc_timeout = absl::Seconds(5);     // Each forwarded call.
  absl::Duration start_timeout = absl::Seconds(30);  // StartVm (boot).
  absl::Duration snapshot_timeout = absl::Seconds(120);  // Writing RAM to disk.
  absl::Duration stop_grace = absl::Seconds(3);      // After StopVm, before SIGTERM.
  absl::Duration term_grace = absl::Seconds(3);      // After SIGTERM, before SIGKILL.
  uint64_t console_log_max_bytes = kDefaultConsoleLogMaxBytes;
  std::shared_ptr<ConsoleTotals> console_totals;  // Optional.
  // Where jails are built (daemon/jail.h): an empty folder; empty = VMMs
  // run unjailed.
  std::string jail_root;
  // Where each VMM gets its own memory cgroup, <parent>/<vm-id> (daemon/
  // memory_cgroup.h), limited to guest RAM + vmm_memory_allowance_bytes;
  // empty = no cgroups.
  std::string memory_cgroup_parent;
  // What a VMM holds beyond guest RAM: its own code, heap, thread stacks,
  // KVM's page tables (idle RSS is ~11 MiB).
  uint64_t vmm_memory_allowance_bytes = uint64_t{64} << 20;
  // CheckMemory's slack and grace period.
  MemoryVerdictOptions memory_verdict;
  // Memory enforcement events (WatchVmEvents), called without locks held.
  std::function<void(const blimp::v1::VmEvent&)> on_event;
};

class VmInstance : public std::enable_shared_from_this<VmInstance> {
 public:
  // Writes <dir>/config.json, spawns blimp-vmm --wait-for-start in `dir` (an
  // empty folder; with options.jail_root, jailed as `jail_uid`, which then
  // owns the folder) and returns once its control socket answers. On failure no
  // child is left: INVALID_ARGUMENT when blimp-vmm refused the config (exit
  // status 1, with its last log line), INTERNAL or UNAVAILABLE otherwise.
  static absl::StatusOr<std::shared_ptr<VmInstance>> Launch(std::string id, std::string dir,
                                                            const blimp::v1::VmConfig& config,
                                                            const VmInstanceOptions& options,
                                                            base::EventLoop& loop,
                                                            uid_t jail_uid = 0);
  // Spawns blimp-vmm with no config in `dir` (as Launch) and loads the
  // snapshot at `files` (in `dir`, readable by the VM's user), running if
  // `resume`, else paused. `config` is the snapshot's (the memory cgroup is
  // sized from it). On failure no child is left; a snapshot blimp-vmm
  // refuses is INVALID_ARGUMENT with its message.
  static absl::StatusOr<std::shared_ptr<VmInstance>> Restore(
      std::string id, std::string dir, const blimp::v1::VmConfig& config,
      const api::SnapshotFiles& files, bool resume, const VmInstanceOptions& options,
      base::EventLoop& loop, uid_t jail_uid = 0);
  // The blimp-vmm that serves <dir>/control.sock, left running by an earlier
  // blimpd: NOT_FOUND if none holds its lock (a leftover folder). Asks it
  // for its state within `describe_timeout`; a VMM that does not answer
  // (stopped, busy) is adopted all the same, with its state unknown until
  // it answers.
  static absl::StatusOr<std::shared_ptr<VmInstance>> Adopt(std::string id, std::string dir,
                                                           const VmInstanceOptions& options,
                                                           base::EventLoop& loop,
                                                           absl::Duration describe_timeout);
  ~VmInstance();  // Close().

  VmInstance(const VmInstance&) = delete;
  VmInstance& operator=(const VmInstance&) = delete;

  const std::string& id() const { return id_; }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }
  // The VMM's memory cgroup folder; empty without one.
  std::string memory_cgroup_dir() const { return cgroup_ ? cgroup_->dir() : ""; }
  bool exited();
  // StopVm (or Stop()) was asked for: the process is ending or has ended.
  bool stop_requested();

  // A jailed VMM sees the files of a later PutBootSource at their host
  // paths (daemon/jail.h BindIntoJail); OK without a jail.
  absl::Status ExposeImages(const blimp::v1::BootSource& boot);

  // Forwarded to the child (rpc_timeout; start_timeout for Start). A child
  // that does not answer in time: DEADLINE_EXCEEDED naming the VM.
  // FAILED_PRECONDITION once the process has exited.
  absl::Status PutBootSource(const blimp::v1::BootSource& boot);
  absl::Status PutMachineConfig(const blimp::v1::MachineConfig& machine);
  // The child's answer (its state after the boot).
  absl::StatusOr<blimp::v1::Vm> Start();

  // PauseVm (paused) or ResumeVm; the child's answer.
  absl::StatusOr<blimp::v1::Vm> SetPaused(bool paused);
  // Bounded by snapshot_timeout (RAM is written to disk).
  absl::StatusOr<blimp::v1::SnapshotInfo> CreateSnapshot(
      const blimp::v1::SnapshotCreateParams& params);

  // Ends the child: StopVm, SIGTERM (+SIGCONT, for a stopped process),
  // SIGKILL, each after its grace period. Returns once it has exited.
  void Stop();

  // The VM as the child describes it, asked with at most `timeout`; without
  // an answer in time (or after the exit) the last known state, with vmm_pid
  // and vmm_rss_bytes from /proc while the process lives.
  blimp::v1::Vm Describe(absl::Duration timeout);
  // The last known state, asking nothing.
  blimp::v1::Vm LastKnown();

  // The host-side check of the balloon (memory_enforcement): asks the VMM
  // for its balloon (within `timeout`), counts the resident pages of its
  // guest RAM and feeds the verdict; logs a VM becoming flagged or
  // clear. Called about once a second for each running VM.
  void CheckMemory(absl::Duration timeout);
  // memory_enforcement "limit": raises the cgroup limit for a new balloon
  // target before it is sent (a deflate needs the room before the guest
  // takes the pages back); CheckMemory lowers it once an inflate completed.
  absl::Status BeforeBalloonTarget(uint32_t amount_mib);

  // The balloon calls, each bounded by rpc_timeout (DEADLINE_EXCEEDED naming
  // the VM), FAILED_PRECONDITION once the process has exited.
  vmm::control::VmControl& control() { return control_; }
  // A new statistics watch connection (see VmmClient::Watch); blimpd opens
  // one per VM, shared by all its streams (StatsFanout).
  absl::StatusOr<base::UniqueFd> Watch();

  // Stops watching the VMM and leaves it running, for the next blimpd to
  // adopt (blimpd's upgrade path). Idempotent.
  void Detach();

  // Stops watching the VMM; removes control.sock if the VMM has exited.
  // Call after Stop() (or the exit). Idempotent.
  void Close();

 private:
  VmInstance(std::string id, std::string dir, const VmInstanceOptions& options,
             base::EventLoop& loop);

  // With `write_config` false blimp-vmm starts without one (a restore).
  absl::Status Spawn(const blimp::v1::VmConfig& config, uid_t jail_uid, bool write_config = true);
  // Puts the just spawned VMM (still waiting for StartVm, no guest RAM
  // touched) into <memory_cgroup_parent>/<id>, limited for `mem_size_mib`.
  absl::Status JoinMemoryCgroup(uint32_t mem_size_mib);
  // An adopted VMM keeps the cgroup it was given (found through /proc).
  void FindMemoryCgroup();
  // Guest RAM + the VMM allowance.
  uint64_t MemoryLimit(uint32_t mem_size_mib) const;
  // The same for the guest RAM a balloon of `ballooned_mib` leaves.
  uint64_t BalloonLimit(const blimp::v1::VmConfig& config, uint32_t ballooned_mib) const;
  // "limit" mode: the cgroup limit follows mem_size - min(actual, target).
  void FollowBalloon(const blimp::v1::Vm& vm, blimp::v1::MemoryEnforcement& check);
  void Publish(blimp::v1::VmEventKind kind, const std::string& reason,
               const blimp::v1::MemoryEnforcement& check);
  // Once the VMM has exited (its pages are uncharged): rmdir.
  void RemoveMemoryCgroup();
  // Watches the exit through `pidfd` and sets up the control client.
  absl::Status Attach(pid_t pid, base::UniqueFd pidfd);
  absl::Status WaitUntilReady();
  void OnExit();
  // The end of a VMM that is not our child (adopted): no wait status, but
  // the exit record it wrote to its lock file.
  int AdoptedExitStatus();
  bool AwaitExit(absl::Duration timeout);
  void Signal(int sig);
  // One control request within `timeout`; a timeout names the VM, a call
  // after the exit is FAILED_PRECONDITION.
  absl::StatusOr<vmm::control::Response> Call(const vmm::control::Request& request,
                                              absl::Duration timeout);
  // Adds the growth of the VMM's console counters to the daemon's totals.
  void CountConsoleLocked(const vmm::control::VmStatus& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The child's answer merged with what the daemon knows.
  blimp::v1::Vm Merge(const absl::StatusOr<vmm::control::VmStatus>& status);
  std::string ControlSocket() const;

  const std::string id_;
  const std::string dir_;
  const VmInstanceOptions options_;
  base::EventLoop& loop_;
  pid_t pid_ = -1;
  base::UniqueFd pidfd_;  // Kept until the end: signals through it cannot hit a reused pid.
  bool adopted_ = false;  // Not our child: it cannot be waited for.
  std::unique_ptr<vmm::control::VmmClient> client_;
  vmm::control::VmControl control_;
  // Set before the instance is shared (Spawn, Adopt), then only read.
  std::optional<MemoryCgroup> cgroup_;

  absl::Mutex mu_;
  bool exited_ ABSL_GUARDED_BY(mu_) = false;
  bool watching_ ABSL_GUARDED_BY(mu_) = false;  // pidfd_ is on the loop.
  bool stop_requested_ ABSL_GUARDED_BY(mu_) = false;
  int wait_status_ ABSL_GUARDED_BY(mu_) = 0;
  blimp::v1::Vm last_ ABSL_GUARDED_BY(mu_);  // The last answer of the child.
  // Set when FollowBalloon ends the VMM because its limit could not be lowered.
  std::string limit_kill_reason_ ABSL_GUARDED_BY(mu_);
  // Since when the balloon's limit has been refused (the memory check's
  // thread only; InfinitePast while it holds).
  absl::Time limit_refused_since_ = absl::InfinitePast();
  // The VMM's console counters as last seen (their growth goes to the totals).
  uint64_t console_bytes_seen_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t console_rotations_seen_ ABSL_GUARDED_BY(mu_) = 0;
  // Where the VMM maps guest RAM (from its answers; fixed once it runs).
  HostRanges guest_ram_ ABSL_GUARDED_BY(mu_);
  MemoryVerdict verdict_ ABSL_GUARDED_BY(mu_);
  StatsSanity stats_sanity_ ABSL_GUARDED_BY(mu_);
  uint64_t impossible_updates_seen_ ABSL_GUARDED_BY(mu_) = 0;  // blimp-vmm's count.
  absl::Time next_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // The last CheckMemory, shown in every answer; unset before the first.
  std::optional<blimp::v1::MemoryEnforcement> enforcement_ ABSL_GUARDED_BY(mu_);
};

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_VM_INSTANCE_H_

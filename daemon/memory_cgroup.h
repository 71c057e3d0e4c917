// MemoryCgroup: one memory cgroup, v1 (the "memory" hierarchy) or v2
// (unified): create, limit, attach a process, read usage and OOM kills,
// remove. blimpd gives every blimp-vmm its own, so that a VMM (and the
// guest driving it) can never take more memory than the VM was given.
#ifndef BLIMP_DAEMON_MEMORY_CGROUP_H_
#define BLIMP_DAEMON_MEMORY_CGROUP_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace blimp::daemon {

// The folder of the memory cgroup a process is in, from the texts of
// /proc/<pid>/cgroup and /proc/<pid>/mountinfo (v1 "memory" line first, then
// the v2 "0::" line when a cgroup2 mount has the memory controller).
// NOT_FOUND when no mounted hierarchy carries the memory controller.
absl::StatusOr<std::string> MemoryCgroupDir(absl::string_view proc_cgroup,
                                            absl::string_view mountinfo);
// The same for a live process: its /proc/<pid>/cgroup under this process's
// mounts (a jailed VMM has its own).
absl::StatusOr<std::string> ProcessMemoryCgroupDir(pid_t pid);

class MemoryCgroup {
 public:
  // Makes `dir` (and missing parents; on v2 each parent delegates the memory
  // controller to its children). An existing empty cgroup is reused.
  static absl::StatusOr<MemoryCgroup> Create(const std::string& dir);
  // An existing cgroup: NOT_FOUND if `dir` is not one.
  static absl::StatusOr<MemoryCgroup> Open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  bool v2() const { return v2_; }

  // The hard limit on memory and, where the kernel accounts it, on memory +
  // swap, so that swap cannot extend it.
  absl::Status SetLimit(uint64_t bytes);
  absl::StatusOr<uint64_t> Limit() const;
  absl::StatusOr<uint64_t> Usage() const;
  // How often the kernel's OOM killer ran in this cgroup.
  absl::StatusOr<uint64_t> OomKills() const;
  absl::Status AddProcess(pid_t pid);
  absl::StatusOr<std::vector<pid_t>> Processes() const;
  // rmdir, retried for up to `patience` while the last process is still
  // leaving (EBUSY). OK if it is gone already.
  absl::Status Remove(absl::Duration patience = absl::Seconds(2));
  // rmdir of every child cgroup no process is in (the kernel refuses the
  // others): what an exit that raced its removal left. How many went.
  int RemoveEmptyChildren();

 private:
  MemoryCgroup(std::string dir, bool v2) : dir_(std::move(dir)), v2_(v2) {}
  std::string File(absl::string_view name) const;

  std::string dir_;
  bool v2_;
};

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_MEMORY_CGROUP_H_

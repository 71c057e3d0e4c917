// FakeRunningVm: a RunningVm without KVM for control-plane tests. The
// balloon is a snapshot the test edits; PublishStats() bumps the statistics
// generation and wakes WaitForStats as a guest refresh would.
#ifndef BLIMP_VMM_TESTING_FAKE_RUNNING_VM_H_
#define BLIMP_VMM_TESTING_FAKE_RUNNING_VM_H_

#include <optional>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "vmm/running_vm.h"

namespace blimp::vmm::testing {

class FakeRunningVm : public RunningVm {
 public:
  void SetBalloonTarget(uint32_t pages) override {
    absl::MutexLock lock(&mu_);
    snapshot_.target_pages = pages;
  }
  BalloonSnapshot GetBalloon() override {
    absl::MutexLock lock(&mu_);
    return snapshot_;
  }
  void SetStatsInterval(uint32_t seconds) override {
    absl::MutexLock lock(&mu_);
    intervals_.push_back(seconds);
  }
  void StartHinting(bool acknowledge_on_stop) override {
    absl::MutexLock lock(&mu_);
    snapshot_.hinting.host_cmd = acknowledge_on_stop ? 2 : 3;
  }
  void StopHinting() override {
    absl::MutexLock lock(&mu_);
    snapshot_.hinting.host_cmd = 1;
  }
  uint64_t WaitForStats(uint64_t seen, absl::Duration timeout) override {
    absl::MutexLock lock(&mu_);
    auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return snapshot_.stats_generation != seen || reason_.has_value();
    };
    mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
    return snapshot_.stats_generation;
  }
  absl::Status Pause() override {
    absl::MutexLock lock(&mu_);
    ++pauses_;
    return pause_result_;
  }
  void Resume() override {
    absl::MutexLock lock(&mu_);
    ++resumes_;
  }
  absl::StatusOr<SnapshotResult> Snapshot(const VmConfig& config, int state_fd,
                                          int memory_fd) override {
    absl::MutexLock lock(&mu_);
    snapshot_config_ = config;
    return SnapshotResult{config.machine.mem_size_mib * uint64_t{1 << 20}, 0};
  }
  std::optional<VmConfig> snapshot_config() {
    absl::MutexLock lock(&mu_);
    return snapshot_config_;
  }
  void RequestStop() override {
    absl::MutexLock lock(&mu_);
    reason_ = ExitReason::kStopped;
  }
  std::optional<ExitReason> exit_reason() override {
    absl::MutexLock lock(&mu_);
    return reason_;
  }

  // A guest statistics refresh: `actual_pages` and free memory (tag 4).
  void PublishStats(uint32_t actual_pages, uint64_t free_bytes) {
    absl::MutexLock lock(&mu_);
    snapshot_.actual_pages = actual_pages;
    snapshot_.stats[4] = free_bytes;
    ++snapshot_.stats_generation;
  }
  // Any other change to the balloon's state (hinting, metrics, ...).
  template <typename Edit>
  void EditBalloon(Edit edit) {
    absl::MutexLock lock(&mu_);
    edit(snapshot_);
  }
  // What the next Pause() returns.
  void SetPauseResult(absl::Status status) {
    absl::MutexLock lock(&mu_);
    pause_result_ = std::move(status);
  }
  int pauses() {
    absl::MutexLock lock(&mu_);
    return pauses_;
  }
  int resumes() {
    absl::MutexLock lock(&mu_);
    return resumes_;
  }
  std::vector<uint32_t> intervals() {
    absl::MutexLock lock(&mu_);
    return intervals_;
  }

 private:
  absl::Mutex mu_;
  BalloonSnapshot snapshot_ ABSL_GUARDED_BY(mu_);
  std::vector<uint32_t> intervals_ ABSL_GUARDED_BY(mu_);
  std::optional<ExitReason> reason_ ABSL_GUARDED_BY(mu_);
  absl::Status pause_result_ ABSL_GUARDED_BY(mu_);
  std::optional<VmConfig> snapshot_config_ ABSL_GUARDED_BY(mu_);
  int pauses_ ABSL_GUARDED_BY(mu_) = 0;
  int resumes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace blimp::vmm::testing

#endif  // BLIMP_VMM_TESTING_FAKE_RUNNING_VM_H_

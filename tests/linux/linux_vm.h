// LinuxVm: the Blimp Linux guest (tests/guest/linux) under blimp-vmm for the
// Linux tier. Boots it with a balloon and a control socket, runs commands of
// its /init over the console (tests/guest/linux/init.c: mem, hog, unhog,
// memhog, cat, ls, dmesg-check, dmesg-count, unbind, bind), and drives
// Linux's own virtio_balloon driver over the control socket as blimpd does.
#ifndef BLIMP_TESTS_LINUX_LINUX_VM_H_
#define BLIMP_TESTS_LINUX_LINUX_VM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/e2e/balloon_client.h"
#include "tests/e2e/vm_process.h"
#include "tests/linux/linux_files.h"

namespace blimp::tests {

// /proc/meminfo, in KiB.
struct GuestMemInfo {
  uint64_t total_kib = 0;
  uint64_t free_kib = 0;
  uint64_t available_kib = 0;
};

class LinuxVm {
 public:
  // Boots and waits for BLIMP-GUEST-READY (at most `timeout`).
  static absl::StatusOr<std::unique_ptr<LinuxVm>> Boot(int vcpus, int mem_mib,
                                                       const std::string& balloon_json,
                                                       absl::Duration timeout = absl::Seconds(150));
  // A fresh blimp-vmm with the VM of a snapshot (PUT /snapshot/load over
  // the control socket), running.
  static absl::StatusOr<std::unique_ptr<LinuxVm>> Restore(const std::string& snapshot_path,
                                                          const std::string& memory_path,
                                                          int mem_mib);
  ~LinuxVm();

  // Pauses the VM and writes a snapshot of it (it stays paused).
  absl::StatusOr<blimp::v1::SnapshotInfo> PauseAndSnapshot(const std::string& snapshot_path,
                                                           const std::string& memory_path);

  VmProcess& process() { return *vm_; }
  int mem_mib() const { return mem_mib_; }
  absl::Duration boot_time() const { return boot_time_; }

  // One /init command; its output lines (without the closing "ok"), or an
  // error carrying the guest's "error: ..." line.
  absl::StatusOr<std::vector<std::string>> Guest(const std::string& command,
                                                 absl::Duration timeout = absl::Seconds(120));
  absl::StatusOr<GuestMemInfo> Mem();

  BalloonClient& balloon() { return *balloon_; }
  absl::Status SetTarget(uint32_t mib) { return balloon_->SetTarget(mib); }
  blimp::v1::BalloonStats Stats() { return balloon_->Stats(); }
  blimp::v1::BalloonMetrics Metrics() { return balloon_->Metrics(); }
  // Waits until the guest's driver reports `mib` as the balloon's size: by
  // default 30 s plus 1 s per MiB to move (Linux's driver inflates ~4 MiB/s
  // here on a quiet machine, under half that with the whole suite running).
  bool WaitForActual(uint32_t mib, absl::Duration timeout = absl::ZeroDuration()) {
    if (timeout == absl::ZeroDuration()) {
      const uint32_t actual = balloon_->Stats().actual_mib();
      timeout = absl::Seconds(30 + (mib > actual ? mib - actual : actual - mib));
    }
    return balloon_->WaitForActual(mib, timeout);
  }
  // Resident bytes of guest RAM in the blimp-vmm process.
  uint64_t GuestRss();

 private:
  LinuxVm() = default;
  std::unique_ptr<VmProcess> vm_;
  std::unique_ptr<BalloonClient> balloon_;
  std::string socket_;
  int mem_mib_ = 0;
  absl::Duration boot_time_;
};

inline constexpr uint64_t kMiB = 1 << 20;

}  // namespace blimp::tests

#endif  // BLIMP_TESTS_LINUX_LINUX_VM_H_

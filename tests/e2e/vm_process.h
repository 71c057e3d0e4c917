// VmProcess: runs bazel-built blimp-vmm as a child process for end-to-end
// tests, with its serial console on pipes: write shell commands to the test
// guest, read its lines, watch the process's RSS and exit status.
#ifndef BLIMP_TESTS_E2E_VM_PROCESS_H_
#define BLIMP_TESTS_E2E_VM_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"

namespace blimp::tests {

// Paths of the built binaries (from the test's runfiles).
std::string Runfile(const std::string& path);  // Relative to the workspace.
std::string VmmBinary();
std::string TestGuestKernel();
// True if /dev/kvm can be opened; tests that need it skip loudly otherwise.
bool KvmAvailable();

// In a gtest body: skip, with the message scripts/test.sh counts, without KVM.
#define SKIP_WITHOUT_KVM() \
  if (!::blimp::tests::KvmAvailable()) GTEST_SKIP() << "SKIPPED: /dev/kvm not available"

class VmProcess {
 public:
  // Writes `config_json` to a file and starts `blimp-vmm --config-file` with
  // `extra_args` (without a config file if `config_json` is empty).
  static absl::StatusOr<std::unique_ptr<VmProcess>> Start(
      const std::string& config_json, const std::vector<std::string>& extra_args = {});
  ~VmProcess();

  pid_t pid() const { return pid_; }
  // Everything the guest printed so far.
  const std::string& output() const { return output_; }

  // Waits until a console line contains `needle`; returns that line.
  absl::StatusOr<std::string> WaitForLine(const std::string& needle, absl::Duration timeout);
  // Sends `command` to the guest shell and returns its output lines, up to
  // and including the closing "ok" or "error: ..." line.
  absl::StatusOr<std::vector<std::string>> Command(const std::string& command,
                                                   absl::Duration timeout = absl::Seconds(30));
  absl::Status SendLine(const std::string& line);

  absl::StatusOr<uint64_t> RssBytes() const;
  // RSS of the process's mappings of at least `min_bytes` (the guest RAM),
  // from /proc/PID/smaps.
  absl::StatusOr<uint64_t> LargeMappingRssBytes(uint64_t min_bytes) const;
  // The sum of one smaps field ("AnonHugePages:", ...) over the same mappings.
  absl::StatusOr<uint64_t> LargeMappingSmapsBytes(uint64_t min_bytes,
                                                  absl::string_view field) const;
  void Signal(int signal);
  // The exit status once the process ends (nullopt on timeout).
  std::optional<int> WaitExit(absl::Duration timeout);
  // What blimp-vmm wrote to stderr (complete once it has exited).
  std::string Stderr();

 private:
  VmProcess() = default;
  // Reads available console output for up to `timeout`; false at EOF.
  bool Pump(absl::Duration timeout);

  pid_t pid_ = -1;
  base::UniqueFd stdin_;
  base::UniqueFd stdout_;
  base::UniqueFd stderr_;
  std::string stderr_text_;
  std::string output_;
  size_t consumed_ = 0;  // Output already matched by WaitForLine/Command.
  std::optional<int> exit_status_;
  std::string config_path_;
};

// A config file for the test guest.
// A writable scratch directory for the test.
std::string TempDir();

std::string TestGuestConfig(int vcpus, int mem_mib, const std::string& balloon_json = "",
                            const std::string& boot_args = "console=ttyS0");

}  // namespace blimp::tests

#endif  // BLIMP_TESTS_E2E_VM_PROCESS_H_

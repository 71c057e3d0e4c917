#include "tests/linux/linux_vm.h"

#include <signal.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/linux/linux_boot.h"

namespace blimp::tests {

absl::StatusOr<std::unique_ptr<LinuxVm>> LinuxVm::Boot(int vcpus, int mem_mib,
                                                       const std::string& balloon_json,
                                                       absl::Duration timeout) {
  std::unique_ptr<LinuxVm> vm(new LinuxVm());
  static int counter = 0;
  // Unix socket paths are limited to 108 bytes: Bazel's TEST_TMPDIR is too deep.
  vm->socket_ = absl::StrCat("/tmp/blimp-linux-", ::getpid(), "-", counter++, ".sock");
  vm->mem_mib_ = mem_mib;
  const absl::Time start = absl::Now();
  auto process = VmProcess::Start(LinuxVmConfig(vcpus, mem_mib, balloon_json),
                                  {"--control-sock", vm->socket_, "--id", "vm0"});
  if (!process.ok()) return process.status();
  vm->vm_ = *std::move(process);
  auto ready = vm->vm_->WaitForLine("BLIMP-GUEST-READY", timeout);
  if (!ready.ok()) {
    return absl::DeadlineExceededError(absl::StrCat(
        "no BLIMP-GUEST-READY after ", absl::FormatDuration(absl::Now() - start),
        "; blimp-vmm said:\n", vm->vm_->Stderr(), "\n", ready.status().message()));
  }
  vm->boot_time_ = absl::Now() - start;
  std::cout << "Linux guest ready in " << absl::FormatDuration(vm->boot_time_) << ": " << *ready
            << std::endl;
  vm->balloon_ = std::make_unique<BalloonClient>(vm->socket_);
  return vm;
}

absl::StatusOr<std::unique_ptr<LinuxVm>> LinuxVm::Restore(const std::string& snapshot_path,
                                                          const std::string& memory_path,
                                                          int mem_mib) {
  std::unique_ptr<LinuxVm> vm(new LinuxVm());
  static int counter = 0;
  vm->socket_ = absl::StrCat("/tmp/blimp-linux-restored-", ::getpid(), "-", counter++, ".sock");
  vm->mem_mib_ = mem_mib;
  auto process = VmProcess::Start("", {"--control-sock", vm->socket_, "--id", "vm0"});
  if (!process.ok()) return process.status();
  vm->vm_ = *std::move(process);
  for (absl::Time deadline = absl::Now() + absl::Seconds(10);
       ::access(vm->socket_.c_str(), F_OK) != 0; absl::SleepFor(absl::Milliseconds(10))) {
    if (absl::Now() > deadline) return absl::DeadlineExceededError("no control socket");
  }
  vm->balloon_ = std::make_unique<BalloonClient>(vm->socket_);
  blimp::v1::SnapshotLoadParams load;
  load.set_snapshot_path(snapshot_path);
  load.mutable_mem_backend()->set_backend_type("File");
  load.mutable_mem_backend()->set_backend_path(memory_path);
  load.set_resume_vm(true);
  const absl::Time start = absl::Now();
  absl::StatusOr<vmm::control::VmStatus> loaded = vm->balloon_->control().LoadSnapshot(load);
  if (!loaded.ok()) {
    return absl::Status(loaded.status().code(),
                        absl::StrCat(loaded.status().message(), "\n", vm->vm_->Stderr()));
  }
  vm->boot_time_ = absl::Now() - start;
  return vm;
}

absl::StatusOr<blimp::v1::SnapshotInfo> LinuxVm::PauseAndSnapshot(
    const std::string& snapshot_path, const std::string& memory_path) {
  absl::StatusOr<vmm::control::VmStatus> paused = balloon_->control().Pause();
  if (!paused.ok()) return paused.status();
  blimp::v1::SnapshotCreateParams create;
  create.set_snapshot_path(snapshot_path);
  create.set_mem_file_path(memory_path);
  return balloon_->control().CreateSnapshot(create);
}

LinuxVm::~LinuxVm() {
  if (vm_ != nullptr) {
    vm_->Signal(SIGTERM);
    vm_->WaitExit(absl::Seconds(10));
  }
  ::unlink(socket_.c_str());
}

absl::StatusOr<std::vector<std::string>> LinuxVm::Guest(const std::string& command,
                                                        absl::Duration timeout) {
  auto lines = vm_->Command(command, timeout);
  if (!lines.ok()) return lines.status();
  std::string last = lines->back();
  lines->pop_back();
  if (last != "ok") {
    return absl::InternalError(absl::StrCat("'", command, "': ", last, "\n",
                                            absl::StrJoin(*lines, "\n")));
  }
  return lines;
}

absl::StatusOr<GuestMemInfo> LinuxVm::Mem() {
  auto lines = Guest("mem");
  if (!lines.ok()) return lines.status();
  GuestMemInfo info;
  for (const std::string& line : *lines) {
    std::vector<std::string> words = absl::StrSplit(line, ' ');
    if (words.size() != 2) continue;
    uint64_t value = 0;
    if (!absl::SimpleAtoi(words[1], &value)) continue;
    if (words[0] == "MemTotal") info.total_kib = value;
    if (words[0] == "MemFree") info.free_kib = value;
    if (words[0] == "MemAvailable") info.available_kib = value;
  }
  if (info.total_kib == 0) return absl::InternalError("no MemTotal in 'mem'");
  return info;
}

uint64_t LinuxVm::GuestRss() {
  auto rss = vm_->LargeMappingRssBytes(uint64_t{static_cast<uint64_t>(mem_mib_)} * kMiB / 2);
  return rss.ok() ? *rss : 0;
}

}  // namespace blimp::tests

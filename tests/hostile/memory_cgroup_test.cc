// Every blimp-vmm in its own memory cgroup, against the real blimpd: the
// cgroup exists under blimpd's own, holds the VMM and is limited to guest
// RAM + the allowance; a guest touching all its RAM runs fine and the
// VMM's peak stays under the limit; the cgroup survives a blimpd restart (adoption) and goes with DeleteVm.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/http_client.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

namespace v1 = blimp::v1;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

uint64_t Number(const std::string& path) {
  uint64_t n = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(Read(path)), &n)) return 0;
  return n;
}

bool V2() { return ::access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) != 0; }

// The memory cgroup folder of `pid` (this host's layout: v1 at
// /sys/fs/cgroup/memory, else v2 at /sys/fs/cgroup).
std::string CgroupOf(pid_t pid) {
  const bool v2 = V2();
  for (absl::string_view line : absl::StrSplit(Read(absl::StrCat("/proc/", pid, "/cgroup")), '\n')) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    if (!v2 && absl::StrContains(f[1], "memory")) {
      return absl::StrCat("/sys/fs/cgroup/memory", f[2] == "/" ? "" : f[2]);
    }
    if (v2 && f[0] == "0") return absl::StrCat("/sys/fs/cgroup", f[2] == "/" ? "" : f[2]);
  }
  return "";
}

uint64_t Limit(const std::string& cgroup) {
  return Number(cgroup + (V2() ? "/memory.max" : "/memory.limit_in_bytes"));
}
uint64_t PeakUsage(const std::string& cgroup) {
  return Number(cgroup + (V2() ? "/memory.peak" : "/memory.max_usage_in_bytes"));
}

bool Holds(const std::string& cgroup, pid_t pid) {
  for (absl::string_view line : absl::StrSplit(Read(cgroup + "/cgroup.procs"), '\n')) {
    if (line == absl::StrCat(pid)) return true;
  }
  return false;
}

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

absl::StatusOr<int> Delete(DaemonProcess& daemon, const std::string& id) {
  auto deleted = HttpRequest(daemon.rest_socket(), "DELETE", "/vms/" + id);
  if (!deleted.ok()) return deleted.status();
  return deleted->status;
}

TEST(MemoryCgroupTest, EachVmmInItsOwnLimitedCgroupUntilDeleted) {
  SKIP_WITHOUT_KVM();
  auto started = DaemonProcess::Start({"--vmm-memory-allowance-mib=48"});
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  ASSERT_TRUE(daemon.BootTestGuest("vm", 128).ok());
  ASSERT_TRUE(daemon.BootTestGuest("other", 64).ok());
  auto vm = daemon.GetVm("vm");
  auto other = daemon.GetVm("other");
  ASSERT_TRUE(vm.ok() && other.ok());
  const pid_t pid = vm->vmm_pid();

  const std::string cgroup = CgroupOf(pid);
  const std::string daemon_cgroup = CgroupOf(daemon.pid());
  ASSERT_FALSE(cgroup.empty());
  EXPECT_TRUE(absl::StartsWith(cgroup, daemon_cgroup + "/blimp/")) << cgroup << " vs "
                                                                    << daemon_cgroup;
  EXPECT_TRUE(absl::EndsWith(cgroup, "/vm")) << cgroup;
  EXPECT_TRUE(Holds(cgroup, pid));
  EXPECT_EQ(Limit(cgroup), uint64_t{128 + 48} << 20);
  const std::string other_cgroup = CgroupOf(other->vmm_pid());
  EXPECT_NE(other_cgroup, cgroup);
  EXPECT_EQ(Limit(other_cgroup), uint64_t{64 + 48} << 20);

  // All of guest RAM the allocator has, written: the VM keeps running.
  const std::string touched = daemon.Console("vm", "touch 120", {"ok", "error:"}, absl::Seconds(60));
  EXPECT_TRUE(absl::StrContains(touched, "touched: 120 MiB")) << touched;
  vm = daemon.GetVm("vm");
  ASSERT_TRUE(vm.ok());
  EXPECT_EQ(vm->state(), v1::VM_STATE_RUNNING);
  EXPECT_GE(PeakUsage(cgroup), uint64_t{120} << 20) << "guest RAM is not charged to the VM's cgroup";
  EXPECT_LE(PeakUsage(cgroup), Limit(cgroup));
  std::cerr << "VMM with 120 MiB touched: peak " << (PeakUsage(cgroup) >> 20)
            << " MiB in its cgroup, RSS " << (vm->vmm_rss_bytes() >> 20) << " MiB\n";

  // The upgrade path: the adopted VMM keeps its cgroup and its limit.
  daemon.Signal(SIGUSR2);
  ASSERT_TRUE(daemon.WaitExit(absl::Seconds(10)).has_value());
  ASSERT_TRUE(daemon.Restart({"--vmm-memory-allowance-mib=48"}).ok());
  vm = daemon.GetVm("vm");
  ASSERT_TRUE(vm.ok()) << vm.status();
  EXPECT_EQ(vm->vmm_pid(), pid);
  EXPECT_EQ(CgroupOf(pid), cgroup);
  EXPECT_EQ(Limit(cgroup), uint64_t{128 + 48} << 20);

  auto deleted = Delete(daemon, "vm");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 204);
  EXPECT_FALSE(Exists(cgroup)) << cgroup << " outlived DeleteVm";
  EXPECT_TRUE(Exists(other_cgroup)) << "deleting one VM removed another's cgroup";
  EXPECT_EQ(*Delete(daemon, "other"), 204);
  EXPECT_FALSE(Exists(other_cgroup));
}

}  // namespace
}  // namespace blimp::tests

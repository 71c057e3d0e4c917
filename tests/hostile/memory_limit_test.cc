// memory_enforcement "limit" against the real blimpd: the VM's memory
// cgroup follows the balloon (lowered once an inflate completed, raised
// before a deflate is sent), so an honest guest keeps working as its
// balloon moves, while a lying driver (hostile steal-balloon) runs into the
// limit: its VMM is killed by the kernel and the VM is FAILED with the
// reason; another VM is untouched.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/http_client.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

namespace v1 = blimp::v1;
constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kAllowanceMib = 32;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool V2() { return ::access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) != 0; }

// The memory cgroup limit of `pid`, read from the kernel.
uint64_t CgroupLimit(pid_t pid) {
  for (absl::string_view line : absl::StrSplit(Read(absl::StrCat("/proc/", pid, "/cgroup")), '\n')) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    std::string file;
    if (!V2() && absl::StrContains(f[1], "memory")) {
      file = absl::StrCat("/sys/fs/cgroup/memory", f[2], "/memory.limit_in_bytes");
    } else if (V2() && f[0] == "0") {
      file = absl::StrCat("/sys/fs/cgroup", f[2], "/memory.max");
    } else {
      continue;
    }
    uint64_t n = 0;
    return absl::SimpleAtoi(absl::StripAsciiWhitespace(Read(file)), &n) ? n : 0;
  }
  return 0;
}

// Waits until `pid`'s cgroup limit is `want` (up to 10 s); the last value.
uint64_t WaitForLimit(pid_t pid, uint64_t want) {
  uint64_t limit = CgroupLimit(pid);
  for (absl::Time end = absl::Now() + absl::Seconds(10); limit != want && absl::Now() < end;) {
    absl::SleepFor(absl::Milliseconds(50));
    limit = CgroupLimit(pid);
  }
  return limit;
}

v1::VmConfig LimitConfig(int mem_mib) {
  v1::VmConfig config = TestGuestVmConfig(mem_mib);
  config.mutable_balloon()->set_memory_enforcement("limit");
  return config;
}

TEST(MemoryLimitTest, TheLimitFollowsTheBalloonAndStopsALyingDriver) {
  SKIP_WITHOUT_KVM();
  auto started = DaemonProcess::Start({"--memory-check-interval=250ms", "--memory-grace=2s",
                                       absl::StrCat("--vmm-memory-allowance-mib=", kAllowanceMib)});
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  ASSERT_TRUE(daemon.BootVm("liar", LimitConfig(128), absl::Seconds(30)).ok());
  ASSERT_TRUE(daemon.BootVm("honest", LimitConfig(64), absl::Seconds(30)).ok());
  auto liar = daemon.GetVm("liar");
  auto honest = daemon.GetVm("honest");
  ASSERT_TRUE(liar.ok() && honest.ok());
  EXPECT_EQ(liar->config().balloon().memory_enforcement(), "limit");
  const pid_t liar_pid = liar->vmm_pid(), honest_pid = honest->vmm_pid();
  EXPECT_EQ(CgroupLimit(liar_pid), (128 + kAllowanceMib) * kMiB);

  // Honest: inflate 32 MiB -> the limit comes down once actual got there.
  ASSERT_TRUE(daemon.SetTarget("honest", 32).ok());
  ASSERT_TRUE(daemon.WaitForActual("honest", 32).ok());
  EXPECT_EQ(WaitForLimit(honest_pid, (64 - 32 + kAllowanceMib) * kMiB),
            (64 - 32 + kAllowanceMib) * kMiB);
  // Deflate: the limit is up before PATCH /balloon returns, before any page
  // went back; then the guest uses all its RAM again and keeps running.
  ASSERT_TRUE(daemon.SetTarget("honest", 0).ok());
  EXPECT_EQ(CgroupLimit(honest_pid), (64 + kAllowanceMib) * kMiB);
  ASSERT_TRUE(daemon.WaitForActual("honest", 0).ok());
  const std::string used = daemon.Console("honest", "touch 56", {"ok", "error:"}, absl::Seconds(60));
  EXPECT_TRUE(absl::StrContains(used, "touched: 56 MiB")) << used;

  // The liar: an honest inflate of 64 MiB first (the limit follows it) ...
  ASSERT_TRUE(daemon.SetTarget("liar", 64).ok());
  ASSERT_TRUE(daemon.WaitForActual("liar", 64).ok());
  ASSERT_EQ(WaitForLimit(liar_pid, (128 - 64 + kAllowanceMib) * kMiB),
            (128 - 64 + kAllowanceMib) * kMiB);
  // Every VM's events, from before the lie.
  grpc::ClientContext watch_context;
  auto watch = daemon.vms().WatchVmEvents(&watch_context, v1::WatchVmEventsRequest());
  watch->WaitForInitialMetadata();
  std::vector<v1::VmEvent> events;
  absl::Mutex events_mu;
  std::thread reader([&] {
    v1::VmEvent e;
    while (watch->Read(&e)) {
      absl::MutexLock lock(&events_mu);
      events.push_back(e);
    }
  });
  // ... then it takes the ballooned pages back and uses the rest of RAM too.
  const std::string sent =
      daemon.Console("liar", "hostile steal-balloon", {"ok", "error:"});
  EXPECT_TRUE(absl::StrContains(sent, "wrote and kept")) << sent;
  const absl::Time lied = absl::Now();
  daemon.Console("liar", "touch 56", {"ok", "error:"}, absl::Seconds(30));
  for (absl::Time end = absl::Now() + absl::Seconds(15); absl::Now() < end;) {
    liar = daemon.GetVm("liar");
    if (liar.ok() && liar->state() != v1::VM_STATE_RUNNING) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(liar.ok());
  std::cerr << "lying driver stopped " << absl::Now() - lied
            << " after steal-balloon: " << liar->reason() << "\n";
  EXPECT_EQ(liar->state(), v1::VM_STATE_FAILED);
  EXPECT_TRUE(absl::StrContains(liar->reason(), "killed by its memory cgroup limit")) << liar->reason();
  EXPECT_TRUE(absl::StrContains(liar->reason(), absl::StrCat(128 - 64 + kAllowanceMib, " MiB")))
      << liar->reason();

  // The kill is an event, for the liar only.
  bool killed_event = false;
  for (absl::Time end = absl::Now() + absl::Seconds(5); !killed_event && absl::Now() < end;) {
    absl::SleepFor(absl::Milliseconds(50));
    absl::MutexLock lock(&events_mu);
    for (const v1::VmEvent& e : events) {
      EXPECT_EQ(e.vm_id(), "liar") << e.DebugString();
      killed_event |= e.kind() == v1::VM_EVENT_MEMORY_LIMIT_KILLED;
    }
  }
  watch_context.TryCancel();
  reader.join();
  EXPECT_TRUE(killed_event) << "no VM_EVENT_MEMORY_LIMIT_KILLED on WatchVmEvents";

  // Never another VM.
  honest = daemon.GetVm("honest");
  ASSERT_TRUE(honest.ok());
  EXPECT_EQ(honest->state(), v1::VM_STATE_RUNNING);
  EXPECT_EQ(honest->vmm_pid(), honest_pid);
  EXPECT_TRUE(absl::StrContains(daemon.Console("honest", "mem", {"ok", "error:"}), "total_pages="));
}

// A liar that writes its ballooned pages back at once, before blimpd has
// lowered the limit: cgroup v1 then refuses the lower limit (the VMM holds
// more), which past the grace period ends the VMM all the same.
TEST(MemoryLimitTest, ALiarFasterThanTheLimitIsStoppedToo) {
  SKIP_WITHOUT_KVM();
  auto started = DaemonProcess::Start({"--memory-check-interval=250ms", "--memory-grace=2s",
                                       absl::StrCat("--vmm-memory-allowance-mib=", kAllowanceMib)});
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  ASSERT_TRUE(daemon.BootVm("liar", LimitConfig(128), absl::Seconds(30)).ok());
  ASSERT_TRUE(daemon.SetTarget("liar", 64).ok());
  ASSERT_TRUE(daemon.WaitForActual("liar", 64).ok());
  daemon.Console("liar", "hostile steal-balloon", {"ok", "error:"});
  daemon.Console("liar", "touch 56", {"ok", "error:"}, absl::Seconds(10));
  absl::StatusOr<v1::Vm> liar = daemon.GetVm("liar");
  for (absl::Time end = absl::Now() + absl::Seconds(15); absl::Now() < end;) {
    liar = daemon.GetVm("liar");
    if (liar.ok() && liar->state() != v1::VM_STATE_RUNNING) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(liar.ok()) << liar.status();
  EXPECT_EQ(liar->state(), v1::VM_STATE_FAILED) << liar->DebugString();
  // Either way it went: the kernel at the lowered limit, or blimpd because
  // the limit could not be lowered.
  EXPECT_TRUE(absl::StrContains(liar->reason(), "killed")) << liar->reason();
  EXPECT_TRUE(absl::StrContains(liar->reason(), "limit")) << liar->reason();
}

TEST(MemoryLimitTest, LimitWithDeflateOnOomIsRefused) {
  SKIP_WITHOUT_KVM();
  auto started = DaemonProcess::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  const std::string body = absl::StrCat(
      R"({"boot-source":{"kernel_image_path":")", TestGuestKernel(),
      R"("},"machine-config":{"vcpu_count":1,"mem_size_mib":64},)",
      R"("balloon":{"amount_mib":0,"deflate_on_oom":true,"memory_enforcement":"limit"}})");
  auto put = HttpRequest(daemon.rest_socket(), "PUT", "/vms/x", body);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->status, 400) << put->body;
  EXPECT_TRUE(absl::StrContains(put->body, "deflate_on_oom")) << put->body;
}

}  // namespace
}  // namespace blimp::tests

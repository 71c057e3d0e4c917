// blimpd with VMs under abuse: a wedged blimp-vmm (SIGSTOP) must delay no
// other VM and no daemon route, StartVm racing DeleteVm must never report a
// success it did not have, and a chatty guest cannot grow console.log past
// its cap.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <iostream>
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/http_client.h"
#include "tests/e2e/vm_process.h"
#include "tests/hostile/raw_client.h"

namespace blimp::tests {
namespace {

absl::Duration Timed(const std::function<void()>& call) {
  const absl::Time start = absl::Now();
  call();
  return absl::Now() - start;
}

// The slowest of `n` REST statistics calls to `vm` (each must succeed).
absl::Duration SlowestStats(DaemonProcess& daemon, const std::string& vm, int n) {
  absl::Duration slowest;
  for (int i = 0; i < n; ++i) {
    slowest = std::max(slowest, Timed([&] {
      auto stats = HttpRequest(daemon.rest_socket(), "GET", "/vms/" + vm + "/balloon/statistics");
      if (!stats.ok()) ADD_FAILURE() << vm << ": " << stats.status();
      else if (stats->status != 200) ADD_FAILURE() << vm << ": " << stats->body;
    }));
  }
  return slowest;
}

TEST(VmAbuseTest, WedgedVmDelaysNoOtherVmAndNoDaemonRoute) {
  SKIP_WITHOUT_KVM();
  auto started = DaemonProcess::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  ASSERT_TRUE(daemon.BootTestGuest("wedged", 128).ok());
  ASSERT_TRUE(daemon.BootTestGuest("healthy", 128).ok());
  const absl::Duration normal = SlowestStats(daemon, "healthy", 20);
  auto vm = daemon.GetVm("wedged");
  ASSERT_TRUE(vm.ok());
  ASSERT_EQ(::kill(vm->vmm_pid(), SIGSTOP), 0);

  // Callers that keep hammering the wedged VM over REST and gRPC.
  std::atomic<bool> stop{false};
  std::atomic<int> wedged_answers{0};
  std::vector<std::thread> hammers;
  for (int i = 0; i < 8; ++i) {
    hammers.emplace_back([&] {
      while (!stop) {
        auto stats = HttpRequest(daemon.rest_socket(), "GET", "/vms/wedged/balloon/statistics");
        if (stats.ok()) ++wedged_answers;
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(300));  // Let them occupy what they can.
  const absl::Duration during = SlowestStats(daemon, "healthy", 50);
  EXPECT_LT(during, normal + absl::Milliseconds(500))
      << "healthy VM calls slowed from " << normal << " to " << during;
  EXPECT_LT(Timed([&] {
              auto list = HttpRequest(daemon.rest_socket(), "GET", "/vms");
              EXPECT_TRUE(list.ok() && list->status == 200);
            }),
            absl::Milliseconds(2500));
  // One bounded pass over the VMs (state and counters asked together):
  // about --describe-timeout (1 s) for the wedged one, not twice that.
  const absl::Duration metrics_time = Timed([&] {
    auto metrics = HttpRequest(daemon.rest_socket(), "GET", "/metrics");
    EXPECT_TRUE(metrics.ok() && metrics->status == 200);
    if (metrics.ok()) {
      // The healthy VM keeps its counters; the wedged one is listed anyway.
      EXPECT_NE(metrics->body.find("blimp_vm_state{vm=\"wedged\""), std::string::npos)
          << metrics->body;
      bool healthy_counters = false;
      for (absl::string_view line : absl::StrSplit(metrics->body, '\n')) {
        // Counters (the balloon's sizes are gauges, from GetVm).
        healthy_counters |= absl::StartsWith(line, "blimp_balloon_") &&
                            absl::StrContains(line, "_total{vm=\"healthy\"}");
      }
      EXPECT_TRUE(healthy_counters) << metrics->body;
    }
  });
  std::cout << "GET /metrics with a wedged VM: " << metrics_time << "\n";
  EXPECT_LT(metrics_time, absl::Milliseconds(1600));
  EXPECT_LT(Timed([&] { EXPECT_TRUE(daemon.Stats("healthy").ok()); }), absl::Seconds(1));
  // The wedged VM's own call ends with a clear error, not a hang.
  absl::StatusOr<HttpResult> own;
  const absl::Duration own_time = Timed([&] {
    own = HttpRequest(daemon.rest_socket(), "GET", "/vms/wedged/balloon/statistics");
  });
  EXPECT_LT(own_time, absl::Seconds(15));
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_GE(own->status, 500) << own->body;
  EXPECT_NE(own->body.find("fault_message"), std::string::npos) << own->body;

  stop = true;
  ::kill(vm->vmm_pid(), SIGCONT);
  for (std::thread& hammer : hammers) hammer.join();
  // Back to normal once it runs again.
  EXPECT_TRUE(daemon.Stats("wedged").ok());
}

// Every call to a stopped VMM times out and its connection is dropped, so
// the VMM's backlog fills with connections whose clients gave up. Once it
// runs again those must not take the slots of the next, live call.
TEST(VmAbuseTest, AResumedVmmAnswersAtOnceAfterClientsGaveUpOnIt) {
  SKIP_WITHOUT_KVM();
  auto started = DaemonProcess::Start({"--rpc-timeout=300ms"});
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  ASSERT_TRUE(daemon.BootTestGuest("paused", 64).ok());
  auto vm = daemon.GetVm("paused");
  ASSERT_TRUE(vm.ok()) << vm.status();
  ::kill(vm->vmm_pid(), SIGSTOP);
  for (int i = 0; i < 24; ++i) {
    EXPECT_EQ(daemon.Stats("paused").status().code(), absl::StatusCode::kDeadlineExceeded);
  }
  ::kill(vm->vmm_pid(), SIGCONT);
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<blimp::v1::BalloonStats> stats = daemon.Stats("paused");
    EXPECT_TRUE(stats.ok()) << "call " << i << " after SIGCONT: " << stats.status();
  }
}

TEST(VmAbuseTest, StartRacingDeleteNeverReportsAStoppedSuccess) {
  SKIP_WITHOUT_KVM();
  auto started = DaemonProcess::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  for (int round = 0; round < 6; ++round) {
    const std::string id = absl::StrCat("race", round);
    blimp::v1::CreateVmRequest create;
    create.set_vm_id(id);
    *create.mutable_config() = TestGuestVmConfig(128);
    blimp::v1::Vm created;
    grpc::ClientContext create_context;
    ASSERT_TRUE(daemon.vms().CreateVm(&create_context, create, &created).ok());
    absl::Notification go;
    grpc::Status start_status;
    blimp::v1::Vm start_answer;
    std::thread starter([&] {
      go.WaitForNotification();
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
      blimp::v1::StartVmRequest request;
      request.set_vm_id(id);
      start_status = daemon.vms().StartVm(&context, request, &start_answer);
    });
    std::thread deleter([&] {
      go.WaitForNotification();
      absl::SleepFor(absl::Milliseconds(round * 3));  // Vary the interleaving.
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
      blimp::v1::DeleteVmRequest request;
      request.set_vm_id(id);
      google::protobuf::Empty empty;
      EXPECT_TRUE(daemon.vms().DeleteVm(&context, request, &empty).ok());
    });
    go.Notify();
    starter.join();
    deleter.join();
    if (start_status.ok()) {
      EXPECT_EQ(start_answer.state(), blimp::v1::VM_STATE_RUNNING)
          << "round " << round << ": StartVm said OK with " << start_answer.ShortDebugString();
    } else {
      EXPECT_TRUE(start_status.error_code() == grpc::StatusCode::NOT_FOUND ||
                  start_status.error_code() == grpc::StatusCode::ABORTED ||
                  start_status.error_code() == grpc::StatusCode::FAILED_PRECONDITION)
          << start_status.error_code() << " " << start_status.error_message();
    }
    EXPECT_FALSE(daemon.GetVm(id).ok());  // Deleted either way.
  }
}

TEST(VmAbuseTest, ChattyGuestCannotGrowConsoleLogPastItsCap) {
  SKIP_WITHOUT_KVM();
  constexpr int64_t kCap = 64 * 1024;
  auto started = DaemonProcess::Start({absl::StrCat("--console-log-max-bytes=", kCap)});
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  ASSERT_TRUE(daemon.BootTestGuest("chatty", 128).ok());
  // Each `help` prints a screenful; enough of them to pass the cap twice.
  auto console = RawConnection::Unix(daemon.console_socket("chatty"));
  ASSERT_TRUE(console.ok()) << console.status();
  std::string commands;
  for (int i = 0; i < 200; ++i) commands += "help\n";
  ASSERT_TRUE(console->Send(commands));
  const std::string old_log = daemon.vm_dir("chatty") + "/console.log.1";
  struct stat log, old;
  for (absl::Time end = absl::Now() + absl::Seconds(60);
       absl::Now() < end && (::stat(old_log.c_str(), &old) != 0 || old.st_size < kCap / 2);) {
    console->ClosedWithin(absl::Milliseconds(100));  // Drains what the console echoes.
  }
  ASSERT_EQ(::stat((daemon.vm_dir("chatty") + "/console.log").c_str(), &log), 0);
  ASSERT_EQ(::stat((daemon.vm_dir("chatty") + "/console.log.1").c_str(), &old), 0);
  EXPECT_LE(log.st_size, kCap);
  EXPECT_LE(old.st_size, kCap);
  EXPECT_GT(old.st_size, kCap / 2);
}

}  // namespace
}  // namespace blimp::tests

// blimpd end to end with the test guest: several VMs at once driven through
// gRPC, the daemon's REST socket and each VM's firecracker.socket (the
// seed's commands), a VMM killed under the daemon, and many concurrent
// clients.
#include <signal.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

std::unique_ptr<DaemonProcess> StartDaemonWith(const std::vector<std::string>& ids) {
  auto daemon = DaemonProcess::Start();
  EXPECT_TRUE(daemon.ok()) << daemon.status();
  if (!daemon.ok()) return nullptr;
  for (const std::string& id : ids) {
    absl::Status booted = (*daemon)->BootTestGuest(id, 128);
    EXPECT_TRUE(booted.ok()) << booted;
  }
  return *std::move(daemon);
}

TEST(DaemonE2eTest, ThreeVmsThroughGrpcAndBothRestSockets) {
  SKIP_WITHOUT_KVM();
  auto daemon = StartDaemonWith({"vm1", "vm2", "vm3"});
  ASSERT_NE(daemon, nullptr);
  // gRPC.
  ASSERT_TRUE(daemon->SetTarget("vm1", 32).ok());
  EXPECT_TRUE(daemon->WaitForActual("vm1", 32).ok());
  // The daemon's REST socket.
  auto patched = HttpRequest(daemon->rest_socket(), "PATCH", "/vms/vm2/balloon",
                             R"({"amount_mib": 48})");
  ASSERT_TRUE(patched.ok());
  EXPECT_EQ(patched->status, 204) << patched->body;
  EXPECT_TRUE(daemon->WaitForActual("vm2", 48).ok());
  auto stats = HttpRequest(daemon->rest_socket(), "GET", "/vms/vm2/balloon/statistics");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->status, 200);
  EXPECT_NE(stats->body.find(R"("actual_mib":48)"), std::string::npos) << stats->body;
  // vm3's own firecracker.socket, at Firecracker's paths, as the seed shows.
  const std::string socket = daemon->vm_socket("vm3");
  auto get = HttpRequest(socket, "GET", "/balloon");
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->status, 200);
  EXPECT_NE(get->body.find(R"("deflate_on_oom":false)"), std::string::npos) << get->body;
  auto patch = HttpRequest(socket, "PATCH", "/balloon", R"({"amount_mib": 16})");
  ASSERT_TRUE(patch.ok());
  EXPECT_EQ(patch->status, 204);
  EXPECT_TRUE(daemon->WaitForActual("vm3", 16).ok());
  auto interval = HttpRequest(socket, "PATCH", "/balloon/statistics",
                              R"({"stats_polling_interval_s": 2})");
  ASSERT_TRUE(interval.ok());
  EXPECT_EQ(interval->status, 204);
  auto late_put = HttpRequest(socket, "PUT", "/balloon",
                              R"({"amount_mib": 1, "deflate_on_oom": true})");
  ASSERT_TRUE(late_put.ok());
  EXPECT_EQ(late_put->status, 400);
  EXPECT_NE(late_put->body.find("fault_message"), std::string::npos);

  // List, stop, delete.
  auto list = HttpRequest(daemon->rest_socket(), "GET", "/vms");
  ASSERT_TRUE(list.ok());
  for (const char* id : {"vm1", "vm2", "vm3"}) {
    EXPECT_NE(list->body.find(id), std::string::npos) << list->body;
  }
  auto stop = HttpRequest(daemon->rest_socket(), "PUT", "/vms/vm1/actions",
                          R"({"action_type": "SendCtrlAltDel"})");
  ASSERT_TRUE(stop.ok());
  EXPECT_EQ(stop->status, 204) << stop->body;
  EXPECT_EQ(daemon->GetVm("vm1")->state(), blimp::v1::VM_STATE_STOPPED);
  auto deleted = HttpRequest(daemon->rest_socket(), "DELETE", "/vms/vm1");
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->status, 204);
  EXPECT_EQ(daemon->GetVm("vm1").status().code(), absl::StatusCode::kNotFound);
}

TEST(DaemonE2eTest, AKilledVmmFailsOnlyItsVm) {
  SKIP_WITHOUT_KVM();
  auto daemon = StartDaemonWith({"a", "b", "c"});
  ASSERT_NE(daemon, nullptr);
  auto victim = daemon->GetVm("b");
  ASSERT_TRUE(victim.ok());
  ASSERT_GT(victim->vmm_pid(), 0);
  ASSERT_EQ(::kill(victim->vmm_pid(), SIGKILL), 0);
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline && daemon->GetVm("b")->state() != blimp::v1::VM_STATE_FAILED) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  auto failed = daemon->GetVm("b");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state(), blimp::v1::VM_STATE_FAILED);
  EXPECT_NE(failed->reason().find("signal 9"), std::string::npos) << failed->reason();
  // The others keep answering and their balloons keep working.
  for (const char* id : {"a", "c"}) {
    EXPECT_EQ(daemon->GetVm(id)->state(), blimp::v1::VM_STATE_RUNNING);
    ASSERT_TRUE(daemon->SetTarget(id, 24).ok());
    EXPECT_TRUE(daemon->WaitForActual(id, 24).ok());
  }
}

TEST(DaemonE2eTest, ConcurrentPatchesAreAllAnsweredAndTheLastOneWins) {
  SKIP_WITHOUT_KVM();
  // 8 clients, each the only writer of its VM, 200 PATCH /balloon each.
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(absl::StrCat("c", i));
  auto daemon = StartDaemonWith(ids);
  ASSERT_NE(daemon, nullptr);
  std::atomic<int> answered{0}, bad{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      for (int n = 0; n < 200; ++n) {
        auto result = HttpRequest(daemon->rest_socket(), "PATCH",
                                  absl::StrCat("/vms/", ids[i], "/balloon"),
                                  absl::StrCat(R"({"amount_mib": )", (n * 7 + i) % 64, "}"));
        if (result.ok()) ++answered;
        if (!result.ok() || result->status != 204) ++bad;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(answered.load(), 1600);
  EXPECT_EQ(bad.load(), 0);
  for (int i = 0; i < 8; ++i) {
    auto stats = daemon->Stats(ids[i]);
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->target_mib(), static_cast<uint32_t>((199 * 7 + i) % 64)) << ids[i];
  }
}

}  // namespace
}  // namespace blimp::tests

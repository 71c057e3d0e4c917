// The internal control protocol end to end in one process: a real
// ControlServer over a VmController (with a fake RunningVm instead of KVM)
// and the VmmClient blimpd uses, on a real SOCK_SEQPACKET socket.
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "vmm/control/control_client.h"
#include "vmm/control/control_handler.h"
#include "vmm/control/control_server.h"
#include "vmm/control/instance_lock.h"
#include "vmm/control/framing.h"
#include "vmm/testing/fake_running_vm.h"
#include "vmm/vm_controller.h"

namespace blimp::vmm::control {
namespace {

using absl::StatusCode;
using testing::FakeRunningVm;

constexpr absl::Duration kTimeout = absl::Seconds(5);

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = absl::StrCat("/tmp/blimp-control-", ::getpid(), "-",
                         ::testing::UnitTest::GetInstance()->random_seed(), ".sock");
    PendingConfig config;
    config.boot_source = BootSourceConfig{"/kernel", "", ""};
    config.machine.mem_size_mib = 256;
    controller_ = std::make_unique<VmController>(
        "vm0", config, [this](const VmConfig&) -> absl::StatusOr<std::unique_ptr<RunningVm>> {
          auto vm = std::make_unique<FakeRunningVm>();
          fake_ = vm.get();
          return std::unique_ptr<RunningVm>(std::move(vm));
        });
    handler_ = std::make_unique<ControlHandler>(*controller_);
    ControlServerOptions options;
    options.max_connections = 3;
    options.send_timeout = absl::Milliseconds(500);
    auto server = ControlServer::Start(path_, *handler_, options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<VmmClient>(path_, 2);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  absl::StatusOr<Response> Call(const Request& request) { return client_->Call(request, kTimeout); }

  absl::Status InstallBalloon() {
    Request put;
    put.mutable_put_balloon()->set_amount_mib(0);
    put.mutable_put_balloon()->set_deflate_on_oom(false);
    put.mutable_put_balloon()->set_stats_polling_interval_s(1);
    return Call(put).status();
  }

  absl::Status InstallBalloonAndStart() {
    if (absl::Status installed = InstallBalloon(); !installed.ok()) return installed;
    Request start;
    start.mutable_start();
    return Call(start).status();
  }

  std::string path_;
  std::unique_ptr<VmController> controller_;
  std::unique_ptr<ControlHandler> handler_;
  std::unique_ptr<ControlServer> server_;
  std::unique_ptr<VmmClient> client_;
  FakeRunningVm* fake_ = nullptr;
};

TEST_F(ControlTest, CallsReachTheControllerAndItsErrorsComeBackUnchanged) {
  Request describe;
  describe.mutable_describe();
  auto before = Call(describe);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->vm().phase(), VmStatus::NOT_STARTED);
  EXPECT_EQ(before->vm().config().machine_config().mem_size_mib(), 256u);
  EXPECT_EQ(before->vm().pid(), ::getpid());

  Request patch;
  patch.mutable_patch_balloon()->set_amount_mib(16);
  auto early = Call(patch);  // No balloon yet: NotFound, as the contract says.
  EXPECT_EQ(early.status().code(), StatusCode::kNotFound);
  EXPECT_NE(early.status().message().find("balloon device not found"), std::string::npos)
      << early.status();

  ASSERT_TRUE(InstallBalloonAndStart().ok());
  ASSERT_TRUE(Call(patch).ok());
  EXPECT_EQ(fake_->GetBalloon().target_pages, 16u * 256);
  patch.mutable_patch_balloon()->set_amount_mib(4096);
  EXPECT_EQ(Call(patch).status().code(), StatusCode::kInvalidArgument);

  fake_->PublishStats(16 * 256, 123 << 20);
  Request stats;
  stats.mutable_get_statistics();
  auto got = Call(stats);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->stats().actual_mib(), 16u);
  EXPECT_EQ(got->stats().free_memory(), 123u << 20);

  Request again;
  again.mutable_put_balloon()->set_amount_mib(0);
  again.mutable_put_balloon()->set_deflate_on_oom(false);
  EXPECT_EQ(Call(again).status().code(), StatusCode::kFailedPrecondition);
  Request empty;
  EXPECT_EQ(Call(empty).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ControlTest, WatchStreamsEveryRefreshAndEndsWhenTheVmStops) {
  ASSERT_TRUE(InstallBalloon().ok());
  auto refused = client_->Watch(kTimeout);  // Not running yet: an error, then the end.
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(VmmClient::ReadWatch(refused->get(), kTimeout).status().code(),
            StatusCode::kFailedPrecondition);

  Request start;
  start.mutable_start();
  ASSERT_TRUE(Call(start).ok());
  auto watch = client_->Watch(kTimeout);
  ASSERT_TRUE(watch.ok()) << watch.status();
  auto first = VmmClient::ReadWatch(watch->get(), kTimeout);
  ASSERT_TRUE(first.ok()) << first.status();
  for (uint32_t mib = 1; mib <= 3; ++mib) {
    fake_->PublishStats(mib * 256, mib << 20);
    auto next = VmmClient::ReadWatch(watch->get(), kTimeout);
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_EQ(next->actual_mib(), mib);
  }
  // Calls keep working beside the stream.
  Request describe;
  describe.mutable_describe();
  EXPECT_EQ(Call(describe)->vm().phase(), VmStatus::RUNNING);
  Request stop;
  stop.mutable_stop();
  ASSERT_TRUE(Call(stop).ok());
  EXPECT_EQ(VmmClient::ReadWatch(watch->get(), kTimeout).status().code(),
            StatusCode::kUnavailable);
}

TEST_F(ControlTest, AWatcherThatStopsReadingIsCutOff) {
  ASSERT_TRUE(InstallBalloonAndStart().ok());
  const int calls_only = server_->connection_count();  // The client's pooled one.
  auto watch = client_->Watch(kTimeout);
  ASSERT_TRUE(watch.ok());
  // The first update proves the server is streaming; from now on the
  // client reads nothing.
  ASSERT_TRUE(VmmClient::ReadWatch(watch->get(), kTimeout).ok());
  ASSERT_EQ(server_->connection_count(), calls_only + 1);
  // The guest refreshes far faster than this client reads (it never does).
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline && server_->connection_count() > calls_only) {
    fake_->PublishStats(1, 1);
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(server_->connection_count(), calls_only);
}

TEST_F(ControlTest, ConnectionsPastTheLimitAreClosedAndTheRestServed) {
  std::vector<base::UniqueFd> held;
  for (int i = 0; i < 3; ++i) {  // The server's limit, all idle.
    auto fd = ConnectSeqpacket(path_);
    ASSERT_TRUE(fd.ok());
    held.push_back(*std::move(fd));
  }
  const absl::Time until = absl::Now() + kTimeout;
  while (server_->connection_count() < 3 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(5));
  auto extra = ConnectSeqpacket(path_);
  ASSERT_TRUE(extra.ok());
  Request describe;
  describe.set_id(1);
  describe.mutable_describe();
  Response response;
  SendFrame(extra->get(), describe, absl::Now() + kTimeout).IgnoreError();
  EXPECT_EQ(ReceiveFrame(extra->get(), &response, absl::Now() + kTimeout).code(),
            StatusCode::kUnavailable);
  EXPECT_GE(server_->refused_count(), 1);
  // A garbage frame costs its sender the connection, not the server.
  const char garbage[] = {0x0a, 0x64, 'x'};
  ASSERT_EQ(::send(held[0].get(), garbage, sizeof(garbage), MSG_NOSIGNAL), 3);
  EXPECT_EQ(ReceiveFrame(held[0].get(), &response, absl::Now() + kTimeout).code(),
            StatusCode::kUnavailable);
  held.clear();
  EXPECT_TRUE(Call(describe).ok());
}

TEST_F(ControlTest, AVmmThatNeverAnswersIsADeadlineNotAHang) {
  const std::string silent = path_ + ".silent";
  auto listener = ListenSeqpacket(silent, 4);  // Accepts (kernel backlog), never reads.
  ASSERT_TRUE(listener.ok());
  VmmClient client(silent, 2);
  Request describe;
  describe.mutable_describe();
  const absl::Time start = absl::Now();
  EXPECT_EQ(client.Call(describe, absl::Milliseconds(200)).status().code(),
            StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  // Both pooled connections time out on their own; neither blocks the pool.
  EXPECT_EQ(client.Call(describe, absl::Milliseconds(200)).status().code(),
            StatusCode::kDeadlineExceeded);
  EXPECT_EQ(client.Call(describe, absl::Milliseconds(200)).status().code(),
            StatusCode::kDeadlineExceeded);
  ::unlink(silent.c_str());
  VmmClient gone(silent, 2);
  EXPECT_EQ(gone.Call(describe, kTimeout).status().code(), StatusCode::kUnavailable);
}

TEST_F(ControlTest, StopEndsEveryConnectionPromptly) {
  ASSERT_TRUE(InstallBalloonAndStart().ok());
  auto watch = client_->Watch(kTimeout);
  ASSERT_TRUE(watch.ok());
  auto idle = ConnectSeqpacket(path_);
  ASSERT_TRUE(idle.ok());
  const absl::Time start = absl::Now();
  server_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_NE(::access(path_.c_str(), F_OK), 0);
  Request describe;
  describe.mutable_describe();
  EXPECT_EQ(client_->Call(describe, kTimeout).status().code(), StatusCode::kUnavailable);
}

TEST(ControlSocketLockTest, OneHolderPerSocketNamedByItsPid) {
  const std::string path = absl::StrCat("/tmp/blimp-control-lock-", ::getpid(), ".sock");
  auto first = LockControlSocket(path);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = LockControlSocket(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find(absl::StrCat("another blimp-vmm serves ", path)),
            std::string::npos)
      << second.status();
  EXPECT_NE(second.status().message().find(absl::StrCat("pid ", ::getpid())), std::string::npos)
      << second.status();
  EXPECT_EQ(ReadExitRecord(path), std::nullopt) << "a running VMM has no exit record";
  WriteExitRecord(first->get(), ExitRecord{0, "guest powered off"});
  auto after_record = LockControlSocket(path);
  ASSERT_FALSE(after_record.ok());
  EXPECT_NE(after_record.status().message().find(absl::StrCat("pid ", ::getpid())),
            std::string::npos)
      << "the record hides the holder's pid: " << after_record.status();
  first->Reset();
  std::optional<ExitRecord> record = ReadExitRecord(path);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->exit_code, 0);
  EXPECT_EQ(record->reason, "guest powered off");
  auto next = LockControlSocket(path);
  EXPECT_TRUE(next.ok()) << "the lock outlived its fd";
  EXPECT_EQ(ReadExitRecord(path), std::nullopt) << "a new holder starts with no record";
  ::unlink(ControlSocketLock(path).c_str());
}

}  // namespace
}  // namespace blimp::vmm::control

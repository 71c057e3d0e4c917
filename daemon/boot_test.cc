// blimpd with a booting guest (needs /dev/kvm): create + start a VM with a
// balloon through gRPC, the console (console.log, console.sock output and
// input), GetVm while running, the statistics stream, stop, delete.
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "base/sockets.h"
#include "daemon/run_dir.h"
#include "daemon/services.h"
#include "daemon/supervisor.h"
#include "daemon/testing/test_util.h"
#include "gtest/gtest.h"
#include "proto/blimp/v1/balloon_service.grpc.pb.h"
#include "proto/blimp/v1/vm_service.grpc.pb.h"

namespace blimp::daemon {
namespace {

namespace v1 = blimp::v1;

bool KvmAvailable() { return ::access("/dev/kvm", R_OK | W_OK) == 0; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

class BootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!KvmAvailable()) GTEST_SKIP() << "SKIPPED: /dev/kvm not available";
    SupervisorOptions options;
    options.run_dir = run_dir_.path();
    options.vmm_binary = testing::Runfile("vmm/blimp-vmm");
    auto supervisor = Supervisor::Create(options);
    ASSERT_TRUE(supervisor.ok()) << supervisor.status();
    supervisor_ = std::move(*supervisor);
    api_ = std::make_unique<DaemonApi>(*supervisor_);
    migration_ = std::make_unique<Migration>(*supervisor_, MigrationOptions{});
    vm_service_ = std::make_unique<DaemonVmService>(*api_, events_, *migration_);
    balloon_service_ = std::make_unique<DaemonBalloonService>(*api_);
    grpc::ServerBuilder builder;
    builder.RegisterService(vm_service_.get());
    builder.RegisterService(balloon_service_.get());
    server_ = builder.BuildAndStart();
    auto channel = server_->InProcessChannel(grpc::ChannelArguments());
    vms_ = v1::VmService::NewStub(channel);
    balloons_ = v1::BalloonService::NewStub(channel);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    supervisor_.reset();
  }

  v1::VmConfig GuestConfig() {
    v1::VmConfig config;
    config.mutable_boot_source()->set_kernel_image_path(
        testing::Runfile("tests/guest/test_guest.elf"));
    config.mutable_boot_source()->set_boot_args("console=ttyS0");
    config.mutable_machine_config()->set_vcpu_count(1);
    config.mutable_machine_config()->set_mem_size_mib(128);
    config.mutable_balloon()->set_amount_mib(0);
    config.mutable_balloon()->set_deflate_on_oom(false);
    config.mutable_balloon()->set_stats_polling_interval_s(1);
    return config;
  }

  // Creates and starts `id`; returns the StartVm answer.
  v1::Vm CreateAndStart(const std::string& id) {
    grpc::ClientContext create_context;
    v1::CreateVmRequest create;
    create.set_vm_id(id);
    *create.mutable_config() = GuestConfig();
    v1::Vm vm;
    grpc::Status status = vms_->CreateVm(&create_context, create, &vm);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return Start(id);
  }
  v1::Vm Start(const std::string& id) {
    v1::Vm vm;
    grpc::Status status;
    grpc::ClientContext start_context;
    v1::StartVmRequest start;
    start.set_vm_id(id);
    status = vms_->StartVm(&start_context, start, &vm);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return vm;
  }

  bool WaitForConsole(const std::string& id, const std::string& text, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (ReadFile(run_dir_.path() + "/vms/" + id + "/console.log").find(text) != std::string::npos) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }

  testing::TempRunDir run_dir_;
  std::unique_ptr<Supervisor> supervisor_;
  std::unique_ptr<DaemonApi> api_;
  VmEvents events_;  // WatchVmEvents (not used here).
  std::unique_ptr<Migration> migration_;
  std::unique_ptr<DaemonVmService> vm_service_;
  std::unique_ptr<DaemonBalloonService> balloon_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::VmService::Stub> vms_;
  std::unique_ptr<v1::BalloonService::Stub> balloons_;
};

TEST_F(BootTest, CreateStartRunStopDelete) {
  const absl::Time begin = absl::Now();
  v1::Vm started = CreateAndStart("guest");
  EXPECT_EQ(started.state(), v1::VM_STATE_RUNNING);
  ASSERT_TRUE(WaitForConsole("guest", "BLIMP-GUEST-READY", absl::Seconds(30)));
  std::cout << "create to BLIMP-GUEST-READY: " << absl::FormatDuration(absl::Now() - begin)
            << "\n";

  grpc::ClientContext get_context;
  v1::GetVmRequest get;
  get.set_vm_id("guest");
  v1::Vm vm;
  ASSERT_TRUE(vms_->GetVm(&get_context, get, &vm).ok());
  EXPECT_EQ(vm.state(), v1::VM_STATE_RUNNING);
  EXPECT_GT(vm.vmm_rss_bytes(), 0u);
  EXPECT_GT(vm.vmm_pid(), 0);
  EXPECT_TRUE(vm.has_balloon_target_mib());

  {
    // The statistics stream through the daemon: at least one update.
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::WatchBalloonStatisticsRequest request;
    request.set_vm_id("guest");
    auto reader = balloons_->WatchBalloonStatistics(&context, request);
    v1::BalloonStats stats;
    ASSERT_TRUE(reader->Read(&stats));
    EXPECT_EQ(stats.target_mib(), 0u);
    context.TryCancel();
    reader->Finish();
  }
  {
    grpc::ClientContext context;
    v1::PatchBalloonRequest request;
    request.set_vm_id("guest");
    request.mutable_update()->set_amount_mib(32);
    google::protobuf::Empty empty;
    grpc::Status status = balloons_->PatchBalloon(&context, request, &empty);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  grpc::ClientContext stop_context;
  v1::StopVmRequest stop;
  stop.set_vm_id("guest");
  ASSERT_TRUE(vms_->StopVm(&stop_context, stop, &vm).ok());
  EXPECT_EQ(vm.state(), v1::VM_STATE_STOPPED);
  EXPECT_FALSE(testing::ProcessAlive(started.vmm_pid()));

  grpc::ClientContext delete_context;
  v1::DeleteVmRequest del;
  del.set_vm_id("guest");
  google::protobuf::Empty empty;
  ASSERT_TRUE(vms_->DeleteVm(&delete_context, del, &empty).ok());
  EXPECT_NE(::access((run_dir_.path() + "/vms/guest").c_str(), F_OK), 0);
}

TEST_F(BootTest, ConsoleSocketCarriesOutputAndInput) {
  ASSERT_TRUE(supervisor_->CreateVm("shell", GuestConfig()).ok());
  // Attached before boot: the client sees everything from then on.
  absl::StatusOr<base::UniqueFd> client =
      base::ConnectUnix(run_dir_.path() + "/vms/shell/console.sock");
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<base::UniqueFd> second =
      base::ConnectUnix(run_dir_.path() + "/vms/shell/console.sock");
  ASSERT_TRUE(second.ok()) << second.status();
  // Real clients read all the time.
  auto read_all = [](int fd, std::string* out) {
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) out->append(buffer, n);
  };
  std::string received, second_received;
  std::thread reader(read_all, client->get(), &received);
  std::thread second_reader(read_all, second->get(), &second_received);
  Start("shell");
  ASSERT_TRUE(WaitForConsole("shell", "BLIMP-GUEST-READY", absl::Seconds(30)));
  // The guest's shell powers off on request; its output reaches the client.
  const std::string command = "\npoweroff\n";
  ASSERT_EQ(::write(client->get(), command.data(), command.size()),
            static_cast<ssize_t>(command.size()));
  v1::Vm vm;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    absl::StatusOr<v1::Vm> got = supervisor_->GetVm("shell");
    ASSERT_TRUE(got.ok());
    vm = *got;
    if (vm.state() != v1::VM_STATE_RUNNING) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(vm.state(), v1::VM_STATE_STOPPED) << vm.reason();
  reader.join();
  second_reader.join();
  EXPECT_NE(received.find("BLIMP-GUEST-READY"), std::string::npos) << received;
  EXPECT_EQ(second_received, received);
  EXPECT_EQ(received, ReadFile(run_dir_.path() + "/vms/shell/console.log"));
}

TEST_F(BootTest, StartRacingDeleteNeverReportsAStoppedVmAsStarted) {
  // StartVm and DeleteVm of one VM at the same time, the delete a little
  // later each round: StartVm either reports a RUNNING VM or fails with
  // NOT_FOUND / ABORTED; it never says OK for a VM that is not running.
  int started = 0, refused = 0;
  for (int round = 0; round < 8; ++round) {
    ASSERT_TRUE(supervisor_->CreateVm("race", GuestConfig()).ok()) << round;
    absl::StatusOr<v1::Vm> start = absl::UnknownError("not run");
    absl::Status deleted;
    absl::Notification go;
    std::thread starter([&] {
      go.WaitForNotification();
      start = supervisor_->StartVm("race");
    });
    std::thread deleter([&] {
      go.WaitForNotification();
      // Spreads the delete over the start's phases (not a synchronisation).
      absl::SleepFor(absl::Milliseconds(15 * round));
      deleted = supervisor_->DeleteVm("race");
    });
    go.Notify();
    starter.join();
    deleter.join();
    EXPECT_TRUE(deleted.ok()) << round << ": " << deleted;
    if (start.ok()) {
      ++started;
      EXPECT_EQ(start->state(), v1::VM_STATE_RUNNING) << round << ": " << start->reason();
    } else {
      ++refused;
      EXPECT_TRUE(start.status().code() == absl::StatusCode::kNotFound ||
                  start.status().code() == absl::StatusCode::kAborted)
          << round << ": " << start.status();
    }
    EXPECT_EQ(supervisor_->GetVm("race").status().code(), absl::StatusCode::kNotFound);
  }
  std::cout << "StartVm racing DeleteVm: " << started << " started, " << refused
            << " refused\n";
}

}  // namespace
}  // namespace blimp::daemon

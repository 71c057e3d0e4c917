// The supervisor and the public services against the real blimp-vmm in
// --wait-for-start mode (no KVM needed): creation, listing, forwarding,
// errors, a killed child, deletion, socket modes.
#include "daemon/supervisor.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "daemon/run_dir.h"
#include "daemon/services.h"
#include "daemon/test_util.h"
#include "gtest/gtest.h"
#include "proto/blimp/v1/balloon_service.grpc.pb.h"
#include "proto/blimp/v1/vm_service.grpc.pb.h"

namespace blimp::daemon {
namespace {

namespace v1 = blimp::v1;
using testing::MinimalConfig;
using testing::ProcessAlive;

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kernel_ = run_dir_.path() + "/kernel";
    ASSERT_TRUE(WriteFile(kernel_, "not a real kernel", 0600).ok());
    SupervisorOptions options;
    options.run_dir = run_dir_.path();
    options.vmm_binary = testing::Runfile("vmm/blimp-vmm");
    options.stop_grace = absl::Seconds(1);
    auto supervisor = Supervisor::Create(options);
    ASSERT_TRUE(supervisor.ok()) << supervisor.status();
    supervisor_ = std::move(*supervisor);
    vm_service_ = std::make_unique<DaemonVmService>(*supervisor_);
    balloon_service_ = std::make_unique<DaemonBalloonService>(*supervisor_);
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

  grpc::Status Create(const std::string& id, v1::Vm* vm = nullptr) {
    return CreateWith(id, MinimalConfig(kernel_), vm);
  }
  grpc::Status CreateWith(const std::string& id, const v1::VmConfig& config,
                          v1::Vm* vm = nullptr) {
    grpc::ClientContext context;
    v1::CreateVmRequest request;
    request.set_vm_id(id);
    *request.mutable_config() = config;
    v1::Vm response;
    grpc::Status status = vms_->CreateVm(&context, request, &response);
    if (vm != nullptr) *vm = response;
    return status;
  }
  grpc::Status Get(const std::string& id, v1::Vm* vm) {
    grpc::ClientContext context;
    v1::GetVmRequest request;
    request.set_vm_id(id);
    return vms_->GetVm(&context, request, vm);
  }
  std::string Dir(const std::string& id) { return run_dir_.path() + "/" + id; }

  testing::TempRunDir run_dir_;
  std::string kernel_;
  std::unique_ptr<Supervisor> supervisor_;
  std::unique_ptr<DaemonVmService> vm_service_;
  std::unique_ptr<DaemonBalloonService> balloon_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::VmService::Stub> vms_;
  std::unique_ptr<v1::BalloonService::Stub> balloons_;
};

mode_t Mode(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

TEST_F(SupervisorTest, CreatesListsAndGetsThreeVms) {
  for (const char* id : {"a", "b", "c"}) {
    v1::Vm vm;
    grpc::Status status = Create(id, &vm);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(vm.vm_id(), id);
    EXPECT_EQ(vm.state(), v1::VM_STATE_CREATED);
    EXPECT_GT(vm.vmm_pid(), 0);
    EXPECT_TRUE(ProcessAlive(vm.vmm_pid()));
    EXPECT_GT(vm.vmm_rss_bytes(), 0u);
    EXPECT_EQ(vm.config().machine_config().mem_size_mib(), 64u);
  }
  grpc::ClientContext context;
  v1::ListVmsResponse list;
  ASSERT_TRUE(vms_->ListVms(&context, v1::ListVmsRequest(), &list).ok());
  ASSERT_EQ(list.vms_size(), 3);
  EXPECT_EQ(list.vms(0).vm_id(), "a");
  EXPECT_EQ(list.vms(2).vm_id(), "c");
  for (const v1::Vm& vm : list.vms()) EXPECT_GT(vm.vmm_rss_bytes(), 0u);

  v1::Vm b;
  ASSERT_TRUE(Get("b", &b).ok());
  EXPECT_EQ(b.state(), v1::VM_STATE_CREATED);

  // The run directory layout and its modes.
  EXPECT_EQ(Mode(Dir("a")), 0700u);
  EXPECT_EQ(Mode(Dir("a") + "/control.sock"), 0600u);
  EXPECT_EQ(Mode(Dir("a") + "/console.sock"), 0600u);
  EXPECT_EQ(Mode(Dir("a") + "/config.json"), 0600u);
  EXPECT_EQ(Mode(Dir("a") + "/console.log"), 0600u);
  EXPECT_EQ(Mode(Dir("a") + "/vmm.log"), 0600u);
}

TEST_F(SupervisorTest, PutsAndGetsABalloonBeforeBootThroughTheDaemon) {
  ASSERT_TRUE(Create("vm1").ok());
  {
    grpc::ClientContext context;
    v1::PutBalloonRequest request;
    request.set_vm_id("vm1");
    request.mutable_balloon()->set_amount_mib(16);
    request.mutable_balloon()->set_deflate_on_oom(true);
    request.mutable_balloon()->set_stats_polling_interval_s(1);
    google::protobuf::Empty empty;
    grpc::Status status = balloons_->PutBalloon(&context, request, &empty);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  {
    grpc::ClientContext context;
    v1::GetBalloonRequest request;
    request.set_vm_id("vm1");
    v1::Balloon balloon;
    ASSERT_TRUE(balloons_->GetBalloon(&context, request, &balloon).ok());
    EXPECT_EQ(balloon.amount_mib(), 16u);
    EXPECT_TRUE(balloon.deflate_on_oom());
  }
  v1::Vm vm;
  ASSERT_TRUE(Get("vm1", &vm).ok());
  EXPECT_EQ(vm.balloon_target_mib(), 16u);
  {
    // The child's own rules come back unchanged: PATCH before boot.
    grpc::ClientContext context;
    v1::PatchBalloonRequest request;
    request.set_vm_id("vm1");
    request.mutable_update()->set_amount_mib(8);
    google::protobuf::Empty empty;
    EXPECT_EQ(balloons_->PatchBalloon(&context, request, &empty).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  {
    // A balloon larger than the memory.
    grpc::ClientContext context;
    v1::PutBalloonRequest request;
    request.set_vm_id("vm1");
    request.mutable_balloon()->set_amount_mib(1000);
    request.mutable_balloon()->set_deflate_on_oom(false);
    google::protobuf::Empty empty;
    EXPECT_EQ(balloons_->PutBalloon(&context, request, &empty).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(SupervisorTest, ReportsErrors) {
  ASSERT_TRUE(Create("dup").ok());
  EXPECT_EQ(Create("dup").error_code(), grpc::StatusCode::ALREADY_EXISTS);

  v1::Vm vm;
  grpc::Status unknown = Get("nope", &vm);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.error_message(), "no such VM 'nope'");

  for (const char* bad : {"../x", "", ".hidden", "a/b", "x y"}) {
    EXPECT_EQ(Create(bad).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_EQ(Get(bad, &vm).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    grpc::ClientContext context;
    v1::GetBalloonRequest request;
    request.set_vm_id(bad);
    v1::Balloon balloon;
    EXPECT_EQ(balloons_->GetBalloon(&context, request, &balloon).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << bad;
  }
  {
    grpc::ClientContext context;
    v1::GetBalloonRequest request;
    request.set_vm_id("ghost");
    v1::Balloon balloon;
    grpc::Status status = balloons_->GetBalloon(&context, request, &balloon);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(status.error_message(), "no such VM 'ghost'");
  }
  // No balloon installed: the child's NOT_FOUND comes through.
  {
    grpc::ClientContext context;
    v1::GetBalloonRequest request;
    request.set_vm_id("dup");
    v1::Balloon balloon;
    EXPECT_EQ(balloons_->GetBalloon(&context, request, &balloon).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  v1::VmConfig invalid = MinimalConfig(kernel_);
  invalid.mutable_machine_config()->set_vcpu_count(0);
  EXPECT_EQ(CreateWith("bad-config", invalid).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(::access(Dir("bad-config").c_str(), F_OK), 0);

  // blimp-vmm refuses a kernel that does not exist: the VM is not kept.
  v1::VmConfig missing = MinimalConfig(run_dir_.path() + "/no-such-kernel");
  grpc::Status status = CreateWith("no-kernel", missing);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_NE(status.error_message().find("no-such-kernel"), std::string::npos)
      << status.error_message();
  EXPECT_NE(::access(Dir("no-kernel").c_str(), F_OK), 0);
  EXPECT_EQ(Get("no-kernel", &vm).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(supervisor_->ListVms().size(), 1u);
}

TEST_F(SupervisorTest, DeleteRemovesTheFolderAndTheChild) {
  v1::Vm vm;
  ASSERT_TRUE(Create("gone", &vm).ok());
  const int pid = vm.vmm_pid();
  ASSERT_TRUE(ProcessAlive(pid));
  grpc::ClientContext context;
  v1::DeleteVmRequest request;
  request.set_vm_id("gone");
  google::protobuf::Empty empty;
  ASSERT_TRUE(vms_->DeleteVm(&context, request, &empty).ok());
  EXPECT_FALSE(ProcessAlive(pid));
  EXPECT_NE(::access(Dir("gone").c_str(), F_OK), 0);
  EXPECT_EQ(Get("gone", &vm).error_code(), grpc::StatusCode::NOT_FOUND);
  // The id can be used again.
  EXPECT_TRUE(Create("gone").ok());
}

TEST_F(SupervisorTest, AKilledChildFailsOnlyItsVm) {
  std::map<std::string, int> pids;
  for (const char* id : {"x", "y", "z"}) {
    v1::Vm vm;
    ASSERT_TRUE(Create(id, &vm).ok());
    pids[id] = vm.vmm_pid();
  }
  ASSERT_EQ(::kill(pids["y"], SIGKILL), 0);
  v1::Vm y;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(Get("y", &y).ok());
    if (y.state() == v1::VM_STATE_FAILED) break;
    ::usleep(50 * 1000);
  }
  EXPECT_EQ(y.state(), v1::VM_STATE_FAILED);
  EXPECT_EQ(y.reason(), "killed by signal 9");
  EXPECT_EQ(y.vmm_pid(), 0);
  EXPECT_EQ(::access((Dir("y") + "/control.sock").c_str(), F_OK), -1);
  EXPECT_EQ(::access((Dir("y") + "/console.sock").c_str(), F_OK), -1);
  for (const char* id : {"x", "z"}) {
    v1::Vm vm;
    ASSERT_TRUE(Get(id, &vm).ok());
    EXPECT_EQ(vm.state(), v1::VM_STATE_CREATED);
    EXPECT_TRUE(ProcessAlive(pids[id]));
  }
  // Calls needing the child say why they cannot go on.
  grpc::ClientContext context;
  v1::GetBalloonRequest request;
  request.set_vm_id("y");
  v1::Balloon balloon;
  EXPECT_EQ(balloons_->GetBalloon(&context, request, &balloon).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(supervisor_->StartVm("y").status().code(), absl::StatusCode::kFailedPrecondition);
  // A failed VM can still be deleted.
  EXPECT_TRUE(supervisor_->DeleteVm("y").ok());
  EXPECT_EQ(supervisor_->ListVms().size(), 2u);
}

TEST_F(SupervisorTest, StopBeforeBootEndsTheChildAndKeepsTheVm) {
  v1::Vm vm;
  ASSERT_TRUE(Create("s", &vm).ok());
  absl::StatusOr<v1::Vm> stopped = supervisor_->StopVm("s");
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->state(), v1::VM_STATE_STOPPED);
  EXPECT_EQ(stopped->reason(), "stopped by request");
  EXPECT_FALSE(ProcessAlive(vm.vmm_pid()));
  EXPECT_EQ(supervisor_->StopVm("s").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(supervisor_->ListVms().size(), 1u);
}

TEST_F(SupervisorTest, ForwardsPreBootConfiguration) {
  ASSERT_TRUE(Create("cfg").ok());
  v1::MachineConfig machine;
  machine.set_vcpu_count(2);
  machine.set_mem_size_mib(128);
  ASSERT_TRUE(supervisor_->PutMachineConfig("cfg", machine).ok());
  absl::StatusOr<v1::Vm> vm = supervisor_->GetVm("cfg");
  ASSERT_TRUE(vm.ok());
  EXPECT_EQ(vm->config().machine_config().vcpu_count(), 2u);
  EXPECT_EQ(vm->config().machine_config().mem_size_mib(), 128u);
  v1::BootSource boot;
  boot.set_kernel_image_path(kernel_);
  boot.set_boot_args("console=ttyS0");
  ASSERT_TRUE(supervisor_->PutBootSource("cfg", boot).ok());
  machine.set_vcpu_count(0);
  EXPECT_EQ(supervisor_->PutMachineConfig("cfg", machine).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SupervisorTest, ShutdownStopsEveryChildAndRemovesSockets) {
  std::vector<int> pids;
  for (const char* id : {"p", "q"}) {
    v1::Vm vm;
    ASSERT_TRUE(Create(id, &vm).ok());
    pids.push_back(vm.vmm_pid());
  }
  supervisor_->Shutdown();
  for (int pid : pids) EXPECT_FALSE(ProcessAlive(pid));
  EXPECT_TRUE(testing::FindSockets(run_dir_.path()).empty());
  EXPECT_EQ(supervisor_->CreateVm("late", MinimalConfig(kernel_)).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace blimp::daemon

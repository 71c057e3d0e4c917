// The supervisor and the public services against the real blimp-vmm in
// --wait-for-start mode (no KVM needed): creation, listing, forwarding,
// errors, a killed child, deletion, socket modes.
#include "daemon/supervisor.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <vector>

#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "base/image_file_check.h"
#include "base/pid_lock.h"
#include "base/sockets.h"
#include "daemon/run_dir.h"
#include "daemon/services.h"
#include "daemon/testing/test_util.h"
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
    Restart(DefaultOptions());
  }

  SupervisorOptions DefaultOptions() {
    SupervisorOptions options;
    options.run_dir = run_dir_.path();
    options.vmm_binary = testing::Runfile("vmm/blimp-vmm");
    options.stop_grace = absl::Seconds(1);
    return options;
  }

  // A new supervisor and services with `options` (the old VMs are stopped).
  void Restart(const SupervisorOptions& options) {
    if (server_) server_->Shutdown();
    server_.reset();
    supervisor_.reset();
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
  std::string Dir(const std::string& id) { return run_dir_.path() + "/vms/" + id; }

  testing::TempRunDir run_dir_;
  std::string kernel_;
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

TEST_F(SupervisorTest, DetachLeavesTheVmsForTheNextSupervisorToAdopt) {
  v1::Vm vm;
  ASSERT_TRUE(Create("kept", &vm).ok());
  const int pid = vm.vmm_pid();
  supervisor_->Detach();
  EXPECT_EQ(supervisor_->CreateVm("late", MinimalConfig(kernel_)).status().code(),
            absl::StatusCode::kUnavailable);
  Restart(DefaultOptions());  // Destroys the old supervisor: the VMM must survive it.
  ASSERT_TRUE(ProcessAlive(pid));
  ASSERT_TRUE(Get("kept", &vm).ok());
  EXPECT_EQ(vm.vmm_pid(), pid);
  EXPECT_EQ(vm.state(), v1::VM_STATE_CREATED);
  EXPECT_EQ(vm.config().machine_config().mem_size_mib(), 64u);
  EXPECT_EQ(Create("kept").error_code(), grpc::StatusCode::ALREADY_EXISTS);
  // Adopted, it stops and goes as a child would.
  auto stopped = supervisor_->StopVm("kept");
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->state(), v1::VM_STATE_STOPPED);
  EXPECT_FALSE(ProcessAlive(pid));
  EXPECT_TRUE(supervisor_->DeleteVm("kept").ok());
}

TEST_F(SupervisorTest, AdoptionTakesThePidFromTheKernelNotFromTheLockFile) {
  v1::Vm vm;
  ASSERT_TRUE(Create("liar", &vm).ok());
  const int pid = vm.vmm_pid();
  supervisor_->Detach();
  // A compromised VMM can write its lock file: here it names the test
  // itself, which the daemon would later signal if it believed the file.
  {
    std::ofstream forged(Dir("liar") + "/control.sock.lock", std::ios::in | std::ios::out);
    forged << ::getpid() << "\n";
  }
  Restart(DefaultOptions());
  ASSERT_TRUE(Get("liar", &vm).ok());
  EXPECT_EQ(vm.vmm_pid(), pid) << "adopted the pid the lock file names";
  ASSERT_TRUE(supervisor_->DeleteVm("liar").ok());
  EXPECT_FALSE(ProcessAlive(pid));
}

TEST_F(SupervisorTest, AVmmThatDiedMeanwhileLeavesAFolderItsIdCanReuse) {
  v1::Vm vm;
  ASSERT_TRUE(Create("lost", &vm).ok());
  const int pid = vm.vmm_pid();
  supervisor_->Detach();
  ::kill(pid, SIGKILL);
  // Gone once its last thread has closed its files (the leader is a zombie
  // before that): its lock is free.
  const std::string lock = Dir("lost") + "/control.sock.lock";
  for (int i = 0; i < 500 && base::PidFileLocked(lock); ++i) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_FALSE(base::PidFileLocked(lock));
  Restart(DefaultOptions());
  EXPECT_EQ(Get("lost", &vm).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(Create("lost", &vm).ok());
  EXPECT_NE(vm.vmm_pid(), pid);
}

TEST_F(SupervisorTest, AJailedVmmRunsAsItsOwnUserAndSeesALaterKernel) {
  if (::geteuid() != 0) GTEST_SKIP() << "!!! the jail needs root: SKIPPED !!!";
  SupervisorOptions options = DefaultOptions();
  options.jail = true;
  Restart(options);
  // Its images are read as the VM's user.
  grpc::Status unreadable = Create("j");
  EXPECT_EQ(unreadable.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(unreadable.error_message().find("not readable by others"), std::string::npos)
      << unreadable.error_message();
  ASSERT_EQ(::chmod(kernel_.c_str(), 0644), 0);
  v1::Vm vm;
  ASSERT_TRUE(Create("j", &vm).ok());
  struct stat st;
  ASSERT_EQ(::stat(Dir("j").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, options.jail_uid_base);
  std::ifstream status("/proc/" + std::to_string(vm.vmm_pid()) + "/status");
  std::string line, uid_line;
  while (std::getline(status, line)) {
    if (line.rfind("Uid:", 0) == 0) uid_line = line;
  }
  EXPECT_NE(uid_line.find(std::to_string(options.jail_uid_base)), std::string::npos) << uid_line;
  // A second VM gets the next uid.
  v1::Vm second;
  ASSERT_TRUE(Create("k", &second).ok());
  ASSERT_EQ(::stat(Dir("k").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, options.jail_uid_base + 1);

  // A kernel given after the spawn, from a folder the jail did not hold.
  const std::string other = run_dir_.path() + "/later";
  ASSERT_EQ(::mkdir(other.c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(other + "/kernel", "not a kernel either", 0644).ok());
  v1::BootSource boot;
  boot.set_kernel_image_path(other + "/kernel");
  ASSERT_TRUE(supervisor_->PutBootSource("j", boot).ok());
  absl::StatusOr<v1::Vm> started = supervisor_->StartVm("j");
  ASSERT_FALSE(started.ok());
  // It fails as a file that is not a kernel, not as a missing one.
  EXPECT_EQ(started.status().message().find("No such file"), std::string::npos)
      << started.status();
  EXPECT_NE(started.status().message().find(other + "/kernel"), std::string::npos)
      << started.status();
}

TEST_F(SupervisorTest, IdsNameOnlyTheirOwnFolder) {
  // The daemon's own files at the top of the run dir, as blimpd makes them.
  ASSERT_TRUE(WriteFile(run_dir_.path() + "/" + kLockFile, "", 0600).ok());
  absl::StatusOr<base::UniqueFd> grpc_socket = base::ListenUnix(run_dir_.path() + "/" + kGrpcSocket);
  absl::StatusOr<base::UniqueFd> http_socket = base::ListenUnix(run_dir_.path() + "/" + kHttpSocket);
  ASSERT_TRUE(grpc_socket.ok() && http_socket.ok());
  for (const char* id : {kLockFile, kGrpcSocket, kHttpSocket, "vms"}) {
    grpc::Status status = Create(id);
    ASSERT_TRUE(status.ok()) << id << ": " << status.error_message();
    EXPECT_EQ(Mode(Dir(id)), 0700u) << id;
    EXPECT_TRUE(supervisor_->DeleteVm(id).ok()) << id;
    EXPECT_NE(::access(Dir(id).c_str(), F_OK), 0) << id;
  }
  // Nothing of the daemon's was replaced or removed.
  struct stat st;
  ASSERT_EQ(::lstat((run_dir_.path() + "/" + kLockFile).c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  for (const char* socket : {kGrpcSocket, kHttpSocket}) {
    ASSERT_EQ(::lstat((run_dir_.path() + "/" + socket).c_str(), &st), 0) << socket;
    EXPECT_TRUE(S_ISSOCK(st.st_mode)) << socket;
  }
  EXPECT_EQ(Mode(run_dir_.path() + "/vms"), 0700u);
}

TEST_F(SupervisorTest, ChecksImagesAndMemoryBeforeSpawning) {
  const std::string fifo = run_dir_.path() + "/kernel.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  struct Case {
    std::string kernel;
    std::string initrd;
    std::string message;
  };
  const std::vector<Case> cases = {
      {fifo, "", "kernel_image_path '" + fifo + "': not a regular file (a FIFO)"},
      {run_dir_.path(), "", "not a regular file (a directory)"},
      {"/dev/zero", "", "not a regular file (a character device)"},
      {"kernel", "", "kernel_image_path 'kernel' is not an absolute path"},
      // Cut at the NUL, this path would boot `kernel_`.
      {kernel_ + std::string("\0.other", 7), "", "contains a NUL byte"},
      {kernel_, fifo, "initrd_path '" + fifo + "': not a regular file (a FIFO)"},
      {kernel_, run_dir_.path() + "/missing", "initrd_path"},
  };
  for (const Case& c : cases) {
    v1::VmConfig config = MinimalConfig(c.kernel);
    if (!c.initrd.empty()) config.mutable_boot_source()->set_initrd_path(c.initrd);
    const absl::Time begin = absl::Now();
    absl::StatusOr<v1::Vm> vm = supervisor_->CreateVm("img", config);
    EXPECT_LT(absl::Now() - begin, absl::Seconds(1)) << c.message;
    EXPECT_EQ(vm.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_NE(vm.status().message().find(c.message), std::string::npos) << vm.status();
    // Refused before anything was spawned: no folder, no vmm.log.
    EXPECT_NE(::access(Dir("img").c_str(), F_OK), 0) << c.message;
  }
  v1::VmConfig huge = MinimalConfig(kernel_);
  huge.mutable_machine_config()->set_mem_size_mib(1u << 20);  // 1 TiB, the most allowed.
  absl::StatusOr<v1::Vm> vm = supervisor_->CreateVm("img", huge);
  EXPECT_EQ(vm.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(vm.status().message().find("more than this host's memory"), std::string::npos)
      << vm.status();
  EXPECT_NE(::access(Dir("img").c_str(), F_OK), 0);

  // The same checks on a created VM's PUT /boot-source and machine-config.
  ASSERT_TRUE(Create("ok").ok());
  v1::BootSource boot;
  boot.set_kernel_image_path(fifo);
  absl::Status put = supervisor_->PutBootSource("ok", boot);
  EXPECT_EQ(put.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(put.message().find("a FIFO"), std::string::npos) << put;
  EXPECT_EQ(supervisor_->PutMachineConfig("ok", huge.machine_config()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(supervisor_->ListVms().size(), 1u);
}

TEST_F(SupervisorTest, ImagesMustBeInsideTheAllowedDirectories) {
  const std::string images = run_dir_.path() + "/images";
  ASSERT_EQ(::mkdir(images.c_str(), 0700), 0);
  const std::string inside = images + "/vmlinux";
  ASSERT_TRUE(WriteFile(inside, "kernel", 0600).ok());
  ASSERT_EQ(::symlink(kernel_.c_str(), (images + "/link").c_str()), 0);
  SupervisorOptions options = DefaultOptions();
  absl::StatusOr<std::vector<std::string>> dirs = base::ResolveAllowedDirs({images});
  ASSERT_TRUE(dirs.ok());
  options.allowed_image_dirs = *dirs;
  Restart(options);
  EXPECT_TRUE(supervisor_->CreateVm("in", MinimalConfig(inside)).ok());
  for (const std::string& outside : {kernel_, images + "/link"}) {
    absl::StatusOr<v1::Vm> vm = supervisor_->CreateVm("out", MinimalConfig(outside));
    EXPECT_EQ(vm.status().code(), absl::StatusCode::kInvalidArgument) << outside;
    EXPECT_NE(vm.status().message().find("outside the allowed image directories"),
              std::string::npos)
        << vm.status();
  }
}

TEST_F(SupervisorTest, WedgedVmsDoNotSlowDownListOrGet) {
  SupervisorOptions options = DefaultOptions();
  options.rpc_timeout = absl::Seconds(2);
  Restart(options);
  std::map<std::string, int> pids;
  for (const char* id : {"ok", "w1", "w2"}) {
    v1::Vm vm;
    ASSERT_TRUE(Create(id, &vm).ok());
    pids[id] = vm.vmm_pid();
  }
  // SIGSTOP: the processes live, their sockets accept, nothing answers.
  ASSERT_EQ(::kill(pids["w1"], SIGSTOP), 0);
  ASSERT_EQ(::kill(pids["w2"], SIGSTOP), 0);
  absl::Time begin = absl::Now();
  std::vector<v1::Vm> list = supervisor_->ListVms();
  const absl::Duration list_time = absl::Now() - begin;
  // One describe_timeout (1 s) for all of them, not one (or 2 s) per VM.
  EXPECT_LT(list_time, absl::Milliseconds(1600)) << list_time;
  std::cout << "ListVms with 2 of 3 VMs SIGSTOPped: " << absl::FormatDuration(list_time) << "\n";
  ASSERT_EQ(list.size(), 3u);
  for (const v1::Vm& vm : list) {
    EXPECT_EQ(vm.state(), v1::VM_STATE_CREATED) << vm.vm_id();
    EXPECT_EQ(vm.vmm_pid(), pids[vm.vm_id()]) << vm.vm_id();
    EXPECT_GT(vm.vmm_rss_bytes(), 0u) << vm.vm_id();
  }
  begin = absl::Now();
  absl::StatusOr<v1::Vm> got = supervisor_->GetVm("w1");
  EXPECT_LT(absl::Now() - begin, absl::Milliseconds(1500));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->vmm_pid(), pids["w1"]);
  // The healthy VM answers at once meanwhile.
  begin = absl::Now();
  EXPECT_TRUE(supervisor_->GetVm("ok").ok());
  EXPECT_LT(absl::Now() - begin, absl::Milliseconds(500));

  // Calls to the wedged VM end at the rpc timeout and say which VM.
  begin = absl::Now();
  v1::MachineConfig machine;
  machine.set_vcpu_count(1);
  machine.set_mem_size_mib(64);
  absl::Status put = supervisor_->PutMachineConfig("w1", machine);
  EXPECT_LT(absl::Now() - begin, absl::Milliseconds(2500));
  EXPECT_EQ(put.code(), absl::StatusCode::kDeadlineExceeded) << put;
  EXPECT_NE(put.message().find("VM 'w1'"), std::string::npos) << put;
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::GetBalloonRequest request;
    request.set_vm_id("w2");
    v1::Balloon balloon;
    begin = absl::Now();
    grpc::Status status = balloons_->GetBalloon(&context, request, &balloon);
    EXPECT_LT(absl::Now() - begin, absl::Milliseconds(2500));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
    EXPECT_NE(status.error_message().find("VM 'w2'"), std::string::npos)
        << status.error_message();
  }
  // Deleting a wedged VM still ends its process (SIGTERM + SIGCONT).
  begin = absl::Now();
  EXPECT_TRUE(supervisor_->DeleteVm("w2").ok());
  EXPECT_FALSE(ProcessAlive(pids["w2"]));
  ::kill(pids["w1"], SIGCONT);
}

}  // namespace
}  // namespace blimp::daemon

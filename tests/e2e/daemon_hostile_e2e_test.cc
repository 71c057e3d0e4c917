// blimpd against careless or hostile clients, through its public sockets
// only (no KVM needed: the VMs stay in --wait-for-start): ids named like the
// daemon's own files, a wedged (SIGSTOPped) VM, kernels that are FIFOs or
// carry a NUL byte. The daemon stays healthy and loses nothing.
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include <fstream>
#include <map>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/time/clock.h"
#include "base/unique_fd.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/http_client.h"

namespace blimp::tests {
namespace {

namespace v1 = blimp::v1;

std::string ConfigJson(const std::string& kernel) {
  return "{\"boot-source\": {\"kernel_image_path\": \"" + kernel +
         "\"}, \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64}}";
}

class HostileClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto daemon = DaemonProcess::Start();
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = std::move(*daemon);
    kernel_ = daemon_->run_dir() + "/kernel";
    std::ofstream(kernel_) << "not a kernel: blimp-vmm waits for StartVm";
  }

  absl::StatusOr<v1::Vm> Create(const std::string& id) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    v1::CreateVmRequest request;
    request.set_vm_id(id);
    request.mutable_config()->mutable_boot_source()->set_kernel_image_path(kernel_);
    request.mutable_config()->mutable_machine_config()->set_vcpu_count(1);
    request.mutable_config()->mutable_machine_config()->set_mem_size_mib(64);
    v1::Vm vm;
    grpc::Status status = daemon_->vms().CreateVm(&context, request, &vm);
    if (!status.ok()) return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                                          status.error_message());
    return vm;
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::string kernel_;
};

TEST_F(HostileClientTest, IdsNamedLikeTheDaemonsFilesLeaveThemAlone) {
  const std::string run_dir = daemon_->run_dir();
  for (const char* id : {"blimp.sock", "blimp.grpc.sock", "blimpd.lock"}) {
    auto put = HttpRequest(daemon_->rest_socket(), "PUT", std::string("/vms/") + id,
                           ConfigJson(kernel_));
    ASSERT_TRUE(put.ok()) << id << ": " << put.status();
    EXPECT_EQ(put->status, 204) << id << ": " << put->body;
    auto deleted = HttpRequest(daemon_->rest_socket(), "DELETE", std::string("/vms/") + id);
    ASSERT_TRUE(deleted.ok()) << id;
    EXPECT_EQ(deleted->status, 204) << id << ": " << deleted->body;
  }
  // REST and gRPC still answer, and the lock is still held by blimpd.
  auto list = HttpRequest(daemon_->rest_socket(), "GET", "/vms");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->status, 200);
  ASSERT_TRUE(Create("after").ok());
  base::UniqueFd lock(::open((run_dir + "/blimpd.lock").c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(lock.valid());
  EXPECT_EQ(::flock(lock.get(), LOCK_EX | LOCK_NB), -1);
  EXPECT_EQ(errno, EWOULDBLOCK);
  struct stat st;
  ASSERT_EQ(::lstat(run_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_F(HostileClientTest, AWedgedVmDoesNotSlowDownTheOthers) {
  std::map<std::string, int> pids;
  for (const char* id : {"healthy", "wedged"}) {
    absl::StatusOr<v1::Vm> vm = Create(id);
    ASSERT_TRUE(vm.ok()) << vm.status();
    pids[id] = vm->vmm_pid();
  }
  ASSERT_EQ(::kill(pids["wedged"], SIGSTOP), 0);
  absl::Time begin = absl::Now();
  grpc::ClientContext context;
  v1::ListVmsResponse list;
  ASSERT_TRUE(daemon_->vms().ListVms(&context, {}, &list).ok());
  EXPECT_LT(absl::Now() - begin, absl::Milliseconds(1600));
  ASSERT_EQ(list.vms_size(), 2);
  for (const v1::Vm& vm : list.vms()) EXPECT_EQ(vm.vmm_pid(), pids[vm.vm_id()]);
  begin = absl::Now();
  auto rest_list = HttpRequest(daemon_->rest_socket(), "GET", "/vms");
  ASSERT_TRUE(rest_list.ok());
  EXPECT_EQ(rest_list->status, 200);
  EXPECT_LT(absl::Now() - begin, absl::Milliseconds(1600));
  begin = absl::Now();
  EXPECT_TRUE(daemon_->GetVm("healthy").ok());
  EXPECT_LT(absl::Now() - begin, absl::Milliseconds(500));
  // A call to the wedged VM ends at the rpc timeout (5 s) and names it.
  grpc::ClientContext balloon_context;
  balloon_context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  v1::GetBalloonRequest request;
  request.set_vm_id("wedged");
  v1::Balloon balloon;
  begin = absl::Now();
  grpc::Status status = daemon_->balloons().GetBalloon(&balloon_context, request, &balloon);
  EXPECT_LT(absl::Now() - begin, absl::Milliseconds(6500));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_NE(status.error_message().find("VM 'wedged'"), std::string::npos)
      << status.error_message();
  ::kill(pids["wedged"], SIGCONT);
}

TEST_F(HostileClientTest, KernelsThatAreNotPlainFilesAreRefusedAtCreate) {
  const std::string fifo = daemon_->run_dir() + "/kernel.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const absl::Time begin = absl::Now();
  auto put = HttpRequest(daemon_->rest_socket(), "PUT", "/vms/fifo", ConfigJson(fifo));
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_LT(absl::Now() - begin, absl::Seconds(2));
  EXPECT_EQ(put->status, 400) << put->body;
  EXPECT_NE(put->body.find("not a regular file (a FIFO)"), std::string::npos) << put->body;
  // A NUL byte: cut there, the path would name `kernel_` itself.
  auto nul = HttpRequest(daemon_->rest_socket(), "PUT", "/vms/nul",
                         ConfigJson(kernel_ + "\\u0000.other"));
  ASSERT_TRUE(nul.ok());
  EXPECT_EQ(nul->status, 400) << nul->body;
  EXPECT_NE(nul->body.find("NUL byte"), std::string::npos) << nul->body;
  for (const char* id : {"fifo", "nul"}) {
    auto get = HttpRequest(daemon_->rest_socket(), "GET", std::string("/vms/") + id);
    ASSERT_TRUE(get.ok());
    EXPECT_EQ(get->status, 404) << id;
    EXPECT_NE(::access(daemon_->vm_dir(id).c_str(), F_OK), 0) << id;
  }
}

}  // namespace
}  // namespace blimp::tests

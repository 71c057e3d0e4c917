// blimpd against careless and hostile input: every bad config is refused at
// the edge with a clear error, before any blimp-vmm is spawned and without
// leaving a folder behind; malformed protobuf is INVALID_ARGUMENT. No VM
// boots here, so no KVM is needed.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/http_client.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

// The threads' children of process `pid` (blimp-vmm processes of blimpd).
std::string Children(int pid) {
  std::string all;
  DIR* tasks = ::opendir(absl::StrCat("/proc/", pid, "/task").c_str());
  if (tasks == nullptr) return "?";
  while (dirent* task = ::readdir(tasks)) {
    if (task->d_name[0] == '.') continue;
    std::ifstream children(absl::StrCat("/proc/", pid, "/task/", task->d_name, "/children"));
    std::stringstream text;
    text << children.rdbuf();
    all += text.str();
  }
  ::closedir(tasks);
  return all;
}

class InputAbuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto daemon = DaemonProcess::Start();
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
    fifo_ = daemon_->run_dir() + "/fifo";
    ASSERT_EQ(::mkfifo(fifo_.c_str(), 0600), 0);
  }

  // PUT /vms/bad with `body`: 400 with a fault_message naming `expected`,
  // fast, and nothing was spawned or left behind.
  void ExpectRefused(const std::string& body, const std::string& expected) {
    const absl::Time start = absl::Now();
    auto created = HttpRequest(daemon_->rest_socket(), "PUT", "/vms/bad", body);
    ASSERT_TRUE(created.ok()) << created.status();
    EXPECT_EQ(created->status, 400) << body << " -> " << created->body;
    EXPECT_NE(created->body.find(expected), std::string::npos) << created->body;
    EXPECT_LT(absl::Now() - start, absl::Seconds(2)) << body;
    EXPECT_EQ(Children(daemon_->pid()), "") << "a blimp-vmm was spawned for " << body;
    EXPECT_NE(::access(daemon_->vm_dir("bad").c_str(), F_OK), 0) << body;
  }

  // A valid config with `field` (a JSON fragment inside machine-config or
  // boot-source) swapped in.
  std::string Config(const std::string& kernel, const std::string& machine) {
    return absl::StrCat(R"({"boot-source": {"kernel_image_path": ")", kernel,
                        R"("}, "machine-config": {)", machine, "}}");
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::string fifo_;
};

TEST_F(InputAbuseTest, BadConfigsAreRefusedBeforeAnyVmmStarts) {
  const std::string kernel = TestGuestKernel();
  const std::string machine = R"("vcpu_count": 1, "mem_size_mib": 128)";
  ExpectRefused(Config(kernel + "\\u0000.ignored", machine), "kernel_image_path");
  ExpectRefused(Config("relative/kernel", machine), "kernel_image_path");
  ExpectRefused(Config(fifo_, machine), "kernel_image_path");
  ExpectRefused(Config(daemon_->run_dir(), machine), "kernel_image_path");
  ExpectRefused(Config(daemon_->run_dir() + "/missing", machine), "kernel_image_path");
  ExpectRefused(Config(kernel, R"("vcpu_count": "1", "mem_size_mib": 128)"), "vcpu_count");
  ExpectRefused(Config(kernel, R"("vcpu_count": 1e0, "mem_size_mib": 128)"), "vcpu_count");
  ExpectRefused(Config(kernel, R"("vcpu_count": 1, "mem_size_mib": 1.28e2)"), "mem_size_mib");
  ExpectRefused(Config(kernel, R"("vcpu_count": 1, "vcpu_count": 2, "mem_size_mib": 128)"),
                "vcpu_count");
  ExpectRefused(absl::StrCat(R"({"boot-source": {"kernel_image_path": ")", kernel,
                             R"("}, "machine-config": {)", machine,
                             R"(}, "machine-config": {"vcpu_count": 2, "mem_size_mib": 64}})"),
                "machine-config");
  ExpectRefused(absl::StrCat(R"({"boot-source": {"kernel_image_path": ")", kernel,
                             R"(", "initrd_path": ")", fifo_, R"("}, "machine-config": {)",
                             machine, "}}"),
                "initrd_path");
  // The same config with a good kernel is accepted (the checks are not
  // refusing everything).
  auto created = HttpRequest(daemon_->rest_socket(), "PUT", "/vms/good", Config(kernel, machine));
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->status, 204) << created->body;
}

TEST_F(InputAbuseTest, NulInsideAPathOverGrpcIsRefused) {
  blimp::v1::CreateVmRequest request;
  request.set_vm_id("bad");
  *request.mutable_config() = TestGuestVmConfig(128);
  request.mutable_config()->mutable_boot_source()->set_kernel_image_path(
      std::string(TestGuestKernel()) + std::string("\0.other", 7));
  grpc::ClientContext context;
  blimp::v1::Vm vm;
  grpc::Status status = daemon_->vms().CreateVm(&context, request, &vm);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(Children(daemon_->pid()), "");
}

TEST_F(InputAbuseTest, MalformedProtobufIsInvalidArgument) {
  auto channel = grpc::CreateChannel("unix:" + daemon_->run_dir() + "/blimp.grpc.sock",
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  // Field 1 (vm_id) as a length-delimited string claiming 100 bytes, 2 present.
  const char garbage[] = {0x0a, 0x64, 'x', 'y'};
  grpc::Slice slice(garbage, sizeof(garbage));
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&context, "/blimp.v1.VmService/GetVm", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(15)));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  // The daemon is fine afterwards.
  grpc::ClientContext list_context;
  blimp::v1::ListVmsResponse list;
  EXPECT_TRUE(daemon_->vms().ListVms(&list_context, {}, &list).ok());
}

// WatchBalloonStatistics runs on gRPC's callback API (the rest is sync):
// a request that does not parse is INVALID_ARGUMENT there too.
TEST_F(InputAbuseTest, MalformedWatchRequestIsInvalidArgument) {
  auto channel = grpc::CreateChannel("unix:" + daemon_->run_dir() + "/blimp.grpc.sock",
                                     grpc::InsecureChannelCredentials());
  const char garbage[] = {0x0a, 0x64, 'x', 'y'};
  grpc::Slice slice(garbage, sizeof(garbage));
  grpc::ByteBuffer request(&slice, 1);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  const grpc::internal::RpcMethod method("/blimp.v1.BalloonService/WatchBalloonStatistics",
                                         grpc::internal::RpcMethod::SERVER_STREAMING);
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
      grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(channel.get(), method,
                                                                    &context, request));
  grpc::ByteBuffer update;
  EXPECT_FALSE(reader->Read(&update));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  grpc::ClientContext list_context;
  blimp::v1::ListVmsResponse list;
  EXPECT_TRUE(daemon_->vms().ListVms(&list_context, {}, &list).ok());
}

}  // namespace
}  // namespace blimp::tests

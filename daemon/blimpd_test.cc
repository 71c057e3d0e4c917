// blimpd as a process: serves gRPC on <run-dir>/blimp.grpc.sock (0600),
// refuses a second daemon on the same run dir, removes stale sockets at start,
// and on SIGTERM stops every child, removes its sockets and exits 0.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/time/clock.h"
#include "daemon/child_process.h"
#include "base/sockets.h"
#include "daemon/run_dir.h"
#include "daemon/testing/test_util.h"
#include "glog/logging.h"
#include "gtest/gtest.h"
#include "proto/blimp/v1/vm_service.grpc.pb.h"

namespace blimp::daemon {
namespace {

namespace v1 = blimp::v1;

struct Daemon {
  Child child;
  base::UniqueFd log;
};

Daemon StartDaemon(const std::string& run_dir) {
  Daemon daemon;
  daemon.log.Reset(::open((run_dir + ".log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600));
  base::UniqueFd null(::open("/dev/null", O_RDONLY));
  SpawnOptions options;
  options.argv = {testing::Runfile("daemon/blimpd"), "--run-dir", run_dir, "--vmm-binary",
                  testing::Runfile("vmm/blimp-vmm")};
  options.stdin_fd = null.get();
  options.stdout_fd = daemon.log.get();
  options.stderr_fd = daemon.log.get();
  absl::StatusOr<Child> child = Spawn(options);
  CHECK(child.ok()) << child.status();
  daemon.child = std::move(*child);
  return daemon;
}

// Waits up to `timeout` for `pid` to exit; its wait status, or -1.
int WaitFor(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status;
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return -1;
}

// One HTTP/1.0 request over a unix socket; the whole response.
std::string HttpGet(const std::string& socket, const std::string& path) {
  absl::StatusOr<base::UniqueFd> fd = base::ConnectUnix(socket);
  if (!fd.ok()) return fd.status().ToString();
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (::write(fd->get(), request.data(), request.size()) < 0) return "write failed";
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd->get(), buffer, sizeof(buffer))) > 0) response.append(buffer, n);
  return response;
}

mode_t Mode(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

TEST(BlimpdTest, ServesAndShutsDownCleanly) {
  testing::TempRunDir run_dir;
  const std::string kernel = run_dir.path() + "/kernel";
  ASSERT_TRUE(WriteFile(kernel, "x", 0600).ok());
  // Left behind by a "crashed" daemon, and a socket that is not blimpd's.
  ASSERT_EQ(::mkdir((run_dir.path() + "/vms").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((run_dir.path() + "/vms/old").c_str(), 0700), 0);
  ASSERT_TRUE(base::ListenUnix(run_dir.path() + "/vms/old/control.sock").ok());
  ASSERT_TRUE(base::ListenUnix(run_dir.path() + "/" + kGrpcSocket).ok());
  ASSERT_TRUE(base::ListenUnix(run_dir.path() + "/someone-else.sock").ok());
  // A pre-existing run dir that others can read.
  ASSERT_EQ(::chmod(run_dir.path().c_str(), 0755), 0);

  Daemon daemon = StartDaemon(run_dir.path());
  const std::string socket = run_dir.path() + "/" + kGrpcSocket;
  auto channel = grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
  auto stub = v1::VmService::NewStub(channel);
  {
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    v1::ListVmsResponse list;
    grpc::Status status = stub->ListVms(&context, v1::ListVmsRequest(), &list);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(list.vms_size(), 0);
  }
  EXPECT_EQ(Mode(socket), 0600u);
  EXPECT_EQ(Mode(run_dir.path()), 0700u);
  EXPECT_EQ(::access((run_dir.path() + "/vms/old/control.sock").c_str(), F_OK), -1);
  EXPECT_EQ(::access((run_dir.path() + "/someone-else.sock").c_str(), F_OK), 0);
  ::unlink((run_dir.path() + "/someone-else.sock").c_str());

  std::vector<int> pids;
  for (const char* id : {"one", "two"}) {
    grpc::ClientContext context;
    v1::CreateVmRequest request;
    request.set_vm_id(id);
    *request.mutable_config() = testing::MinimalConfig(kernel);
    v1::Vm vm;
    grpc::Status status = stub->CreateVm(&context, request, &vm);
    ASSERT_TRUE(status.ok()) << status.error_message();
    pids.push_back(vm.vmm_pid());
  }

  // The REST gateways: daemon routes on blimp.sock, Firecracker's paths on
  // each VM's firecracker.socket.
  const std::string http_socket = run_dir.path() + "/" + kHttpSocket;
  EXPECT_EQ(Mode(http_socket), 0600u);
  std::string list = HttpGet(http_socket, "/vms");
  EXPECT_EQ(list.rfind("HTTP/1.1 200", 0), 0u) << list;
  EXPECT_NE(list.find("\"two\""), std::string::npos) << list;
  const std::string vm_socket = run_dir.path() + "/vms/one/firecracker.socket";
  EXPECT_EQ(Mode(vm_socket), 0600u);
  std::string info = HttpGet(vm_socket, "/");
  EXPECT_EQ(info.rfind("HTTP/1.1 200", 0), 0u) << info;
  EXPECT_NE(info.find("\"one\""), std::string::npos) << info;
  std::string missing = HttpGet(http_socket, "/vms/nope");
  EXPECT_EQ(missing.rfind("HTTP/1.1 404", 0), 0u) << missing;

  // Ids that are the names of the daemon's own files only ever name a
  // folder under vms/: creating and deleting them leaves the sockets and the
  // lock alone.
  for (const char* id : {kHttpSocket, kGrpcSocket, kLockFile}) {
    grpc::ClientContext context;
    v1::CreateVmRequest request;
    request.set_vm_id(id);
    *request.mutable_config() = testing::MinimalConfig(kernel);
    v1::Vm vm;
    grpc::Status status = stub->CreateVm(&context, request, &vm);
    ASSERT_TRUE(status.ok()) << id << ": " << status.error_message();
    grpc::ClientContext delete_context;
    v1::DeleteVmRequest del;
    del.set_vm_id(id);
    google::protobuf::Empty empty;
    ASSERT_TRUE(stub->DeleteVm(&delete_context, del, &empty).ok()) << id;
  }
  EXPECT_EQ(Mode(socket), 0600u);
  EXPECT_EQ(Mode(http_socket), 0600u);
  EXPECT_EQ(Mode(run_dir.path() + "/" + kLockFile), 0600u);
  list = HttpGet(http_socket, "/vms");
  EXPECT_EQ(list.rfind("HTTP/1.1 200", 0), 0u) << list;

  // A second daemon on the same run dir refuses to start (the lock held).
  Daemon second = StartDaemon(run_dir.path());
  int second_status = WaitFor(second.child.pid, absl::Seconds(10));
  ASSERT_NE(second_status, -1);
  EXPECT_TRUE(WIFEXITED(second_status) && WEXITSTATUS(second_status) == 1) << second_status;
  EXPECT_EQ(Mode(socket), 0600u);  // The first one's socket is untouched.

  ASSERT_EQ(::kill(daemon.child.pid, SIGTERM), 0);
  int status = WaitFor(daemon.child.pid, absl::Seconds(20));
  ASSERT_NE(status, -1) << "blimpd did not exit";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  for (int pid : pids) EXPECT_FALSE(testing::ProcessAlive(pid)) << pid;
  EXPECT_EQ(testing::FindSockets(run_dir.path()), std::vector<std::string>());
}

TEST(BlimpdTest, RefusesARunDirThatIsASymlink) {
  testing::TempRunDir tmp;
  const std::string real = tmp.path() + "/real";
  ASSERT_EQ(::mkdir(real.c_str(), 0700), 0);
  const std::string link = tmp.path() + "/link";
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  Daemon daemon = StartDaemon(link);
  int status = WaitFor(daemon.child.pid, absl::Seconds(20));
  ASSERT_NE(status, -1) << "blimpd did not exit";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  std::ifstream log(link + ".log");
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_NE(text.str().find("is a symlink"), std::string::npos) << text.str();
  EXPECT_EQ(::access((real + "/" + kLockFile).c_str(), F_OK), -1);
}

}  // namespace
}  // namespace blimp::daemon

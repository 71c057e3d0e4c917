// blimp-vmm: runs one microVM. Boots at once from --config-file (as
// `firecracker --config-file` does), or waits for its configuration and
// InstanceStart over --control-sock (gRPC) / --api-sock (REST).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/notification.h"
#include "base/dashed_flags.h"
#include "base/grpc_invalid_request.h"
#include "glog/logging.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gateway/http_server.h"
#include "gateway/router.h"
#include "vmm/config_file.h"
#include "vmm/control_service.h"
#include "vmm/seccomp_filter.h"
#include "vmm/vm.h"
#include "vmm/vm_controller.h"

ABSL_FLAG(std::string, config_file, "",
          "Firecracker-style JSON config (boot-source, machine-config, balloon); the VM "
          "boots at once unless --wait-for-start");
ABSL_FLAG(std::string, control_sock, "", "Unix socket path for the gRPC control API");
ABSL_FLAG(std::string, api_sock, "",
          "Unix socket path for the REST API at Firecracker's paths (/balloon, ...)");
ABSL_FLAG(std::string, id, "vm0", "This VM's id (requests must name it)");
ABSL_FLAG(bool, seccomp, true,
          "Confine blimp-vmm with its seccomp filter once the VM is built (--noseccomp to "
          "debug)");
ABSL_FLAG(bool, wait_for_start, false,
          "With --config-file: do not boot until InstanceStart (StartVm) arrives");

namespace blimp::vmm {
namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "blimp-vmm: %s\n", message.c_str());
  return 1;
}

// A thread that calls `on_signal` for each SIGTERM/SIGINT until `done` is
// notified. The signals must be blocked in every thread (see Run).
std::thread StopSignalThread(const sigset_t& signals, absl::Notification& done,
                             std::function<void()> on_signal) {
  return std::thread([signals, &done, on_signal] {
    while (!done.HasBeenNotified()) {
      timespec timeout{0, 100 * 1000 * 1000};
      if (sigtimedwait(&signals, nullptr, &timeout) > 0) on_signal();
    }
  });
}

int Run(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "blimp-vmm [--config-file vm.json] [--api-sock PATH] [--control-sock PATH] [--id NAME]\n"
      "Runs one microVM on KVM with a serial console on stdin/stdout.");
  base::NormalizedArgs args(argc, argv);
  absl::ParseCommandLine(args.argc(), args.argv());
  const std::string config_path = absl::GetFlag(FLAGS_config_file);
  const std::string control_sock = absl::GetFlag(FLAGS_control_sock);
  const std::string api_sock = absl::GetFlag(FLAGS_api_sock);
  if (config_path.empty() && control_sock.empty() && api_sock.empty()) {
    return Fail("give --config-file, --control-sock or --api-sock (see --help)");
  }

  PendingConfig pending;
  if (!config_path.empty()) {
    absl::StatusOr<VmConfig> config = LoadConfigFile(config_path);
    if (!config.ok()) return Fail(std::string(config.status().message()));
    absl::Status host = CheckHostResources(*config);
    if (!host.ok()) return Fail(std::string(host.message()));
    pending = {config->boot_source, config->machine, config->balloon};
  }

  // Blocked before any thread starts, so every thread inherits the mask and
  // only the signal thread sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::Notification launched;
  Vm* vm = nullptr;
  VmOptions options{STDIN_FILENO, STDOUT_FILENO};
  VmController controller(
      absl::GetFlag(FLAGS_id), pending,
      [&](const VmConfig& config) -> absl::StatusOr<std::unique_ptr<RunningVm>> {
        absl::Status host = CheckHostResources(config);
        if (!host.ok()) return host;
        absl::StatusOr<std::unique_ptr<Vm>> started = Vm::Launch(config, options);
        if (!started.ok()) return started.status();
        if (absl::GetFlag(FLAGS_seccomp)) {
          // From here on a compromised VMM can only do what a running VMM does.
          absl::Status confined = InstallVmmSeccompFilter();
          if (!confined.ok()) return confined;
        }
        vm = started->get();
        launched.Notify();
        return std::unique_ptr<RunningVm>(std::move(*started));
      });

  // The gRPC services serve --control-sock and, through an in-process
  // channel, the REST gateway on --api-sock.
  std::unique_ptr<grpc::Server> server;
  BalloonControlService balloon_service(controller);
  VmControlService vm_service(controller);
  std::unique_ptr<blimp::v1::BalloonService::Stub> balloon_stub;
  std::unique_ptr<blimp::v1::VmService::Stub> vm_stub;
  std::unique_ptr<gateway::Router> router;
  std::unique_ptr<gateway::HttpServer> http;
  if (!control_sock.empty() || !api_sock.empty()) {
    grpc::ServerBuilder builder;
    if (!control_sock.empty()) {
      ::unlink(control_sock.c_str());
      builder.AddListeningPort("unix:" + control_sock, grpc::InsecureServerCredentials());
    }
    builder.RegisterService(&balloon_service);
    builder.RegisterService(&vm_service);
    base::UseInvalidRequestInterceptor(&builder);  // Malformed protobuf: INVALID_ARGUMENT.
    mode_t old_umask = ::umask(0077);  // The socket is created 0600.
    server = builder.BuildAndStart();
    ::umask(old_umask);
    if (server == nullptr) return Fail("cannot serve gRPC on " + control_sock);
  }
  if (!api_sock.empty()) {
    auto channel = server->InProcessChannel(grpc::ChannelArguments());
    balloon_stub = blimp::v1::BalloonService::NewStub(channel);
    vm_stub = blimp::v1::VmService::NewStub(channel);
    router = std::make_unique<gateway::Router>(
        gateway::Router::ForSingleVm(controller.id(), balloon_stub.get(), vm_stub.get()));
    absl::StatusOr<std::unique_ptr<gateway::HttpServer>> created =
        gateway::HttpServer::Create(*router);
    if (!created.ok()) return Fail(std::string(created.status().message()));
    http = *std::move(created);
    absl::Status listening = http->ListenUnix(api_sock);
    if (!listening.ok()) return Fail(std::string(listening.message()));
    absl::Status serving = http->Start();
    if (!serving.ok()) return Fail(std::string(serving.message()));
  }

  if (!config_path.empty() && !absl::GetFlag(FLAGS_wait_for_start)) {
    absl::Status status = controller.Start();
    if (!status.ok()) return Fail(std::string(status.message()));
  }

  // Until the VM starts, a stop signal simply ends the process.
  absl::Notification stop_requested;
  absl::Notification done;
  std::thread signal_thread = StopSignalThread(stop_signals, done, [&] {
    if (launched.HasBeenNotified()) {
      vm->RequestStop();
    } else if (!stop_requested.HasBeenNotified()) {
      stop_requested.Notify();
    }
  });
  while (!launched.HasBeenNotified() && !stop_requested.HasBeenNotified()) {
    launched.WaitForNotificationWithTimeout(absl::Milliseconds(100));
  }
  int code = 0;
  if (launched.HasBeenNotified()) {
    ExitReason reason = vm->Wait();
    LOG(INFO) << "blimp-vmm: " << ExitReasonName(reason);
    code = ExitCode(reason);
  }
  done.Notify();
  signal_thread.join();
  if (http) http->Stop();
  if (server) {
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    ::unlink(control_sock.c_str());
  }
  return code;
}

}  // namespace
}  // namespace blimp::vmm

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  return blimp::vmm::Run(argc, argv);
}

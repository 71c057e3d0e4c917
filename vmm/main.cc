// blimp-vmm: runs one microVM. Boots at once from --config-file (as
// `firecracker --config-file` does), or waits for its configuration and
// InstanceStart over --control-sock (blimpd's internal control protocol,
// vmm/control/) / --api-sock (REST at Firecracker's paths).
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
#include "base/host_memory.h"
#include "glog/logging.h"
#include "gateway/http_server.h"
#include "gateway/router.h"
#include "vmm/config_file.h"
#include "vmm/console/console_host.h"
#include "vmm/control/control_handler.h"
#include "vmm/control/control_server.h"
#include "vmm/control/instance_lock.h"
#include "vmm/seccomp_filter.h"
#include "vmm/single_vm_api.h"
#include "vmm/vm.h"
#include "vmm/vm_controller.h"

ABSL_FLAG(std::string, config_file, "",
          "Firecracker-style JSON config (boot-source, machine-config, balloon); the VM "
          "boots at once unless --wait-for-start");
ABSL_FLAG(std::string, control_sock, "",
          "Unix socket path for blimpd's control protocol (SOCK_SEQPACKET, mode 0600)");
ABSL_FLAG(std::string, api_sock, "",
          "Unix socket path for the REST API at Firecracker's paths (/balloon, ...)");
ABSL_FLAG(std::string, id, "vm0", "This VM's id (requests must name it)");
ABSL_FLAG(bool, seccomp, true,
          "Confine blimp-vmm with its seccomp filter once the VM is built (--noseccomp to "
          "debug)");
ABSL_FLAG(std::string, console_log, "",
          "Serve the serial console from this process: append its output to this file "
          "(capped, see --console-log-max-bytes) instead of stdout; needs --console-sock");
ABSL_FLAG(std::string, console_sock, "",
          "With --console-log: a unix socket (0600) that streams the console's output to "
          "each client and takes their input as the guest's serial input");
ABSL_FLAG(uint64_t, console_log_max_bytes, blimp::vmm::kDefaultConsoleLogMaxBytes,
          "Past this size console.log moves to console.log.1 and starts again");
// Host policy, not guest configuration, so a flag rather than a config field.
// Free page reporting hands back 2 MiB blocks: on huge pages each is one PMD
// zap (the reclaim table in BENCHMARKS.md). Off: every host page is 4 KiB, so
// a 4 KiB inflate frees its page at once instead of splitting a huge page
// (whose other pages stay allocated until the host's deferred-split
// shrinker runs under memory pressure; RSS drops either way).
ABSL_FLAG(bool, guest_ram_thp, true,
          "Back guest RAM with transparent huge pages (2 MiB-aligned, MADV_HUGEPAGE)");

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
      if (sigtimedwait(&signals, nullptr, &timeout) > 0 && !done.HasBeenNotified()) on_signal();
    }
  });
}

int Run(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "blimp-vmm [--config-file vm.json] [--api-sock PATH] [--control-sock PATH] [--id NAME]\n"
      "Runs one microVM on KVM with a serial console on stdin/stdout (or --console-log and\n"
      "--console-sock).");
  base::NormalizedArgs args(argc, argv);
  absl::ParseCommandLine(args.argc(), args.argv());
  const std::string config_path = absl::GetFlag(FLAGS_config_file);
  const std::string control_sock = absl::GetFlag(FLAGS_control_sock);
  const std::string api_sock = absl::GetFlag(FLAGS_api_sock);
  if (config_path.empty() && control_sock.empty() && api_sock.empty()) {
    return Fail("give --config-file, --control-sock or --api-sock (see --help)");
  }

  // Blocked before any thread starts, so every thread inherits the mask and
  // only the signal thread sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // One blimp-vmm per VM: the lock comes before any of the VM's files
  // (sockets, console.log) is touched, and is held until the process exits.
  base::UniqueFd instance_lock;
  if (!control_sock.empty()) {
    absl::StatusOr<base::UniqueFd> locked = control::LockControlSocket(control_sock);
    if (!locked.ok()) return Fail(std::string(locked.status().message()));
    instance_lock = *std::move(locked);
  }

  // Opened before any VM exists (the seccomp filter allows no new files).
  std::unique_ptr<ConsoleHost> console;
  VmOptions options{STDIN_FILENO, STDOUT_FILENO};
  const std::string console_log = absl::GetFlag(FLAGS_console_log);
  const std::string console_sock = absl::GetFlag(FLAGS_console_sock);
  if (console_log.empty() != console_sock.empty()) {
    return Fail("--console-log and --console-sock go together");
  }
  if (!console_log.empty()) {
    ConsoleOptions console_options;
    console_options.log_path = console_log;
    console_options.socket_path = console_sock;
    console_options.max_log_bytes = absl::GetFlag(FLAGS_console_log_max_bytes);
    absl::StatusOr<std::unique_ptr<ConsoleHost>> started =
        ConsoleHost::Start(std::move(console_options));
    if (!started.ok()) return Fail(std::string(started.status().message()));
    console = *std::move(started);
    options.console_in_fd = console->uart_input_fd();
    options.console_out_fd = console->uart_output_fd();
  }

  options.guest_ram_thp = absl::GetFlag(FLAGS_guest_ram_thp);

  PendingConfig pending;
  if (!config_path.empty()) {
    absl::StatusOr<VmConfig> config = LoadConfigFile(config_path);
    if (!config.ok()) return Fail(std::string(config.status().message()));
    absl::Status host = CheckHostResources(*config);
    if (!host.ok()) return Fail(std::string(host.message()));
    pending = {config->boot_source, config->machine, config->balloon};
  }

  absl::Notification launched;
  Vm* vm = nullptr;
  // A VM booted or restored, before it is handed to the controller.
  auto confine = [&](absl::StatusOr<std::unique_ptr<Vm>> started)
      -> absl::StatusOr<std::unique_ptr<RunningVm>> {
    if (!started.ok()) return started.status();
    if (absl::GetFlag(FLAGS_seccomp)) {
      // From here on a compromised VMM can only do what a running VMM does.
      absl::Status confined = InstallVmmSeccompFilter();
      if (!confined.ok()) return confined;
    }
    vm = started->get();
    launched.Notify();
    return std::unique_ptr<RunningVm>(std::move(*started));
  };
  VmController controller(
      absl::GetFlag(FLAGS_id), pending,
      [&](const VmConfig& config) -> absl::StatusOr<std::unique_ptr<RunningVm>> {
        absl::Status host = CheckHostResources(config);
        if (!host.ok()) return host;
        return confine(Vm::Launch(config, options));
      },
      [&](const VmConfig& config, const snapshot::VmState& state, int memory_file,
          bool resume) -> absl::StatusOr<std::unique_ptr<RunningVm>> {
        // The kernel is in guest RAM already: only the memory must fit.
        absl::Status host = base::CheckMemoryFitsHost(config.machine.mem_size_mib);
        if (!host.ok()) return host;
        return confine(Vm::Restore(config, options, state, memory_file, resume));
      });

  // --control-sock serves blimpd; --api-sock serves REST over the same
  // handler, in process.
  control::ControlHandler handler(controller, console ? &console->counters() : nullptr);
  std::unique_ptr<control::ControlServer> control_server;
  if (!control_sock.empty()) {
    absl::StatusOr<std::unique_ptr<control::ControlServer>> started =
        control::ControlServer::Start(control_sock, handler);
    if (!started.ok()) return Fail(std::string(started.status().message()));
    control_server = *std::move(started);
  }
  SingleVmApi api(controller.id(), handler);
  std::unique_ptr<gateway::Router> router;
  std::unique_ptr<gateway::HttpServer> http;
  if (!api_sock.empty()) {
    router = std::make_unique<gateway::Router>(gateway::Router::ForSingleVm(controller.id(), api));
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
  std::string ended = "stopped before boot";
  if (launched.HasBeenNotified()) {
    ExitReason reason = vm->Wait();
    LOG(INFO) << "blimp-vmm: " << ExitReasonName(reason);
    code = ExitCode(reason);
    ended = ExitReasonName(reason);
  }
  done.Notify();
  // Wakes its sigtimedwait at once: the exit does not wait out its timeout
  // (a stop or a migration's hand-over would take up to 100 ms longer).
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  if (http) http->Stop();
  if (control_server) control_server->Stop();
  if (instance_lock.valid()) {
    // For a blimpd that adopted this VMM and so gets no wait status.
    control::WriteExitRecord(instance_lock.get(), {code, ended});
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

// blimpd: hosts many microVMs, one blimp-vmm child process each, behind the
// public gRPC API (unix socket <run-dir>/blimp.grpc.sock, optional TCP).
// SIGTERM/SIGINT stop every VM cleanly and remove the sockets.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <memory>
#include <string>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "base/dashed_flags.h"
#include "base/grpc_invalid_request.h"
#include "base/image_file_check.h"
#include "base/status_macros.h"
#include "daemon/console_totals.h"
#include "daemon/memory_cgroup.h"
#include "daemon/memory_watchdog.h"
#include "daemon/vm_events.h"
#include "daemon/rest.h"
#include "daemon/run_dir.h"
#include "daemon/daemon_api.h"
#include "daemon/daemon_metrics.h"
#include "daemon/services.h"
#include "daemon/supervisor.h"
#include "daemon/tls_flags.h"
#include "glog/logging.h"

ABSL_FLAG(std::string, run_dir, "/run/blimp",
          "Run directory: sockets, lock file and one folder per VM");
ABSL_FLAG(bool, jail, true,
          "Start each blimp-vmm in its own jail: namespaces, a root holding only its VM, no "
          "capabilities, its own uid (daemon/README.md); --nojail runs them as blimpd's user");
ABSL_FLAG(uint32_t, jail_uid_base, 900000, "First uid (and gid) of the jailed VMMs");
ABSL_FLAG(uint32_t, jail_uid_count, 10000, "How many uids from --jail-uid-base VMs may use");
ABSL_FLAG(bool, memory_cgroups, true,
          "Put each blimp-vmm in its own memory cgroup, limited to guest RAM + "
          "--vmm-memory-allowance-mib (cgroup v1 or v2; daemon/README.md)");
ABSL_FLAG(std::string, memory_cgroup_parent, "",
          "Folder of the VMs' memory cgroups (default: blimpd's own memory cgroup + "
          "/blimp/<run dir with '/' as '_'>); on cgroup v2 a cgroup with no processes of its own");
ABSL_FLAG(uint32_t, vmm_memory_allowance_mib, 64,
          "Memory a blimp-vmm may hold beyond guest RAM (its code, heap, threads, KVM page "
          "tables; idle RSS is ~11 MiB)");
ABSL_FLAG(absl::Duration, memory_check_interval, absl::Seconds(1),
          "How often blimpd measures each running VM's guest RAM against its balloon");
ABSL_FLAG(uint32_t, memory_slack_mib, 16,
          "Guest RAM a VM may hold beyond what its balloon leaves it before it counts as over");
ABSL_FLAG(absl::Duration, memory_grace, absl::Seconds(3),
          "How long a VM must stay over (without a break) before it is flagged");
ABSL_FLAG(std::string, vmm_binary, "",
          "Path of blimp-vmm (default: ../vmm/blimp-vmm next to this binary)");
ABSL_FLAG(std::string, grpc_listen, "",
          "Also serve gRPC on TCP HOST:PORT (beyond loopback: only with --tls-cert)");
ABSL_FLAG(std::string, http_listen, "",
          "Also serve the REST API on TCP HOST:PORT (beyond loopback: only with --tls-cert)");
ABSL_FLAG(uint64_t, console_log_max_bytes, blimp::daemon::kDefaultConsoleLogMaxBytes,
          "Cap of each VM's console.log; past it the log is rotated to console.log.1");
ABSL_FLAG(std::string, allowed_image_dir, "",
          "Kernels and initrds must resolve inside this directory (repeatable, or a "
          "comma-separated list; default: anywhere)");
ABSL_FLAG(int, http_max_connections, 256,
          "Open REST connections per listener; more are answered 503 and closed");
ABSL_FLAG(absl::Duration, http_header_timeout, absl::Seconds(10),
          "A REST request's headers must arrive within this (slow clients are closed)");
ABSL_FLAG(absl::Duration, http_body_timeout, absl::Seconds(30),
          "A REST request's body must arrive within this");
ABSL_FLAG(absl::Duration, http_idle_timeout, absl::Seconds(60),
          "An idle keep-alive REST connection is closed after this");
ABSL_FLAG(absl::Duration, http_write_timeout, absl::Seconds(10),
          "A REST client must take its response within this, or it is cut off");
ABSL_FLAG(int, http_vm_concurrency, 4,
          "REST requests running at once for one VM (more wait in its queue)");
ABSL_FLAG(int, http_vm_queue, 64, "REST requests waiting for one VM; more are answered 503");
ABSL_FLAG(std::string, http_allowed_hosts, "",
          "Comma-separated Host names --http-listen accepts besides IP literals and localhost");
ABSL_FLAG(int, max_watches_per_vm, 8,
          "Most WatchBalloonStatistics streams open on one VM (more: RESOURCE_EXHAUSTED)");
ABSL_FLAG(int, max_watches, 256, "Most WatchBalloonStatistics streams open on all VMs");
ABSL_FLAG(absl::Duration, describe_timeout, absl::Seconds(1),
          "The longest GetVm/ListVms wait for one VM's state before answering with the "
          "last known one");
ABSL_FLAG(absl::Duration, rpc_timeout, absl::Seconds(5),
          "The longest a call forwarded to one VM's blimp-vmm may take");
ABSL_FLAG(absl::Duration, migration_idle_timeout, absl::Seconds(30),
          "ReceiveVm: a migration stream silent for this long is cut off (nothing of it "
          "stays)");

namespace blimp::daemon {
namespace {

// --memory-cgroup-parent, made if missing. The default is per run dir:
// blimpds on other run dirs may sit in the same cgroup with the same VM ids.
absl::StatusOr<std::string> VmCgroupParent(const std::string& run_dir) {
  std::string parent = absl::GetFlag(FLAGS_memory_cgroup_parent);
  if (parent.empty()) {
    ASSIGN_OR_RETURN(std::string own, ProcessMemoryCgroupDir(::getpid()));
    parent = absl::StrCat(own, "/blimp/", absl::StrReplaceAll(run_dir, {{"/", "_"}}));
  }
  RETURN_IF_ERROR(MemoryCgroup::Create(parent).status());
  return parent;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "blimpd: %s\n", message.c_str());
  return 1;
}

std::string DefaultVmmBinary() {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return "blimp-vmm";
  std::string path(self, static_cast<size_t>(n));
  std::string dir = path.substr(0, path.rfind('/'));
  return dir + "/../vmm/blimp-vmm";
}

// Every --allowed_image_dir value (the flag may be repeated; absl keeps only
// the last), each split at commas.
std::vector<std::string> AllowedImageDirs(int argc, char** argv) {
  std::vector<std::string> dirs;
  const std::string flag = "--allowed_image_dir";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    std::string value;
    if (arg == flag && i + 1 < argc) {
      value = argv[++i];
    } else if (absl::StartsWith(arg, flag + "=")) {
      value = arg.substr(flag.size() + 1);
    } else {
      continue;
    }
    for (absl::string_view dir : absl::StrSplit(value, ',', absl::SkipEmpty())) {
      dirs.emplace_back(dir);
    }
  }
  return dirs;
}

int Run(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "blimpd [--run-dir /run/blimp] [--grpc-listen HOST:PORT] [--http-listen HOST:PORT]\n"
      "       [--tls-cert FILE --tls-key FILE --tls-client-ca FILE]\n"
      "Hosts microVMs, one blimp-vmm process each, behind a gRPC API.\n"
      "SIGTERM/SIGINT stop every VM; SIGUSR2 exits and leaves them running for the next\n"
      "blimpd on the same --run-dir, which adopts them (so does a blimpd started after a crash).");
  base::NormalizedArgs args(argc, argv);  // --run-dir as well as --run_dir.
  absl::ParseCommandLine(args.argc(), args.argv());
  ::umask(0077);  // Every file and socket blimpd makes is owner-only.
  // Mutual TLS on TCP, or loopback only: checked before anything starts.
  absl::StatusOr<TcpSecurity> tcp_security = SecureTcpListeners(TcpListenFlagsFromCommandLine(
      absl::GetFlag(FLAGS_grpc_listen), absl::GetFlag(FLAGS_http_listen)));
  if (!tcp_security.ok()) return Fail(std::string(tcp_security.status().message()));

  // Blocked before any thread starts: only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGUSR2);  // Exit, leaving the VMs running: the upgrade path.
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  const std::string run_dir = absl::GetFlag(FLAGS_run_dir);
  // Also makes <run-dir>/vms and refuses a run dir that is not ours.
  absl::StatusOr<base::UniqueFd> lock = LockRunDir(run_dir);
  if (!lock.ok()) return Fail(std::string(lock.status().message()));
  if (int stale = RemoveStaleSockets(run_dir); stale > 0) {
    LOG(WARNING) << "removed " << stale << " stale socket(s) from " << run_dir;
  }

  SupervisorOptions options;
  options.run_dir = run_dir;
  options.console_log_max_bytes = absl::GetFlag(FLAGS_console_log_max_bytes);
  if (options.console_log_max_bytes == 0) return Fail("--console-log-max-bytes must be > 0");
  options.describe_timeout = absl::GetFlag(FLAGS_describe_timeout);
  options.rpc_timeout = absl::GetFlag(FLAGS_rpc_timeout);
  absl::StatusOr<std::vector<std::string>> image_dirs =
      base::ResolveAllowedDirs(AllowedImageDirs(args.argc(), args.argv()));
  if (!image_dirs.ok()) return Fail(std::string(image_dirs.status().message()));
  options.allowed_image_dirs = *image_dirs;
  options.jail = absl::GetFlag(FLAGS_jail);
  options.jail_uid_base = absl::GetFlag(FLAGS_jail_uid_base);
  options.jail_uid_count = absl::GetFlag(FLAGS_jail_uid_count);
  if (options.jail && (options.jail_uid_base == 0 || options.jail_uid_count == 0)) {
    return Fail("--jail-uid-base and --jail-uid-count must be > 0");
  }
  options.vmm_binary = absl::GetFlag(FLAGS_vmm_binary);
  if (options.vmm_binary.empty()) options.vmm_binary = DefaultVmmBinary();
  if (char* real = ::realpath(options.vmm_binary.c_str(), nullptr)) {
    options.vmm_binary = real;  // Absolute: the jail binds it at this path.
    std::free(real);
  }
  if (::access(options.vmm_binary.c_str(), X_OK) != 0) {
    return Fail(absl::StrCat("cannot run blimp-vmm at ", options.vmm_binary,
                             " (see --vmm-binary)"));
  }
  options.vmm_memory_allowance_bytes = uint64_t{absl::GetFlag(FLAGS_vmm_memory_allowance_mib)}
                                       << 20;
  if (absl::GetFlag(FLAGS_memory_cgroups)) {
    absl::StatusOr<std::string> parent = VmCgroupParent(run_dir);
    if (!parent.ok()) {
      return Fail(absl::StrCat("memory cgroups (--nomemory-cgroups to run without): ",
                               parent.status().message()));
    }
    options.memory_cgroup_parent = *parent;
    // Before any VM is made: only VMMs left running (to adopt) are in theirs.
    if (auto made = MemoryCgroup::Open(*parent); made.ok()) {
      if (int stale = made->RemoveEmptyChildren(); stale > 0) {
        LOG(WARNING) << "removed " << stale << " empty VM memory cgroup(s) from " << *parent;
      }
    }
    LOG(INFO) << "VM memory cgroups under " << *parent;
  }
  options.memory_verdict.slack_bytes = uint64_t{absl::GetFlag(FLAGS_memory_slack_mib)} << 20;
  options.memory_verdict.grace = absl::GetFlag(FLAGS_memory_grace);
  const absl::Duration memory_check_interval = absl::GetFlag(FLAGS_memory_check_interval);
  if (memory_check_interval <= absl::ZeroDuration()) {
    return Fail("--memory-check-interval must be > 0");
  }
  VmEvents vm_events;
  options.on_vm_event = [&vm_events](const blimp::v1::VmEvent& event) { vm_events.Publish(event); };
  absl::StatusOr<std::unique_ptr<Supervisor>> supervisor = Supervisor::Create(options);
  if (!supervisor.ok()) return Fail(supervisor.status().ToString());

  auto watchdog = std::make_unique<MemoryWatchdog>(
      [&supervisor] { return (*supervisor)->Listed(); }, memory_check_interval,
      std::min(options.describe_timeout, memory_check_interval));

  WatchLimits watch_limits;
  watch_limits.per_vm = absl::GetFlag(FLAGS_max_watches_per_vm);
  watch_limits.total = absl::GetFlag(FLAGS_max_watches);
  DaemonApi api(**supervisor, watch_limits);
  MigrationOptions migration_options;
  migration_options.tls = tcp_security->migration;
  migration_options.idle_timeout = absl::GetFlag(FLAGS_migration_idle_timeout);
  Migration migration(**supervisor, migration_options);
  DaemonVmService vm_service(api, vm_events, migration);
  DaemonBalloonService balloon_service(api);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  const std::string grpc_socket = absl::StrCat(run_dir, "/", kGrpcSocket);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + grpc_socket, grpc::InsecureServerCredentials());
  const std::string grpc_listen = absl::GetFlag(FLAGS_grpc_listen);
  int tcp_port = 0;
  if (!grpc_listen.empty()) {
    builder.AddListeningPort(grpc_listen, tcp_security->grpc, &tcp_port);
  }
  builder.RegisterService(&vm_service);
  // Hybrid: WatchBalloonStatistics is a callback method (a reactor per
  // stream, no thread), the rest sync. gRPC 1.51 adds the callback CQ itself.
  builder.RegisterService(&balloon_service);
  base::UseInvalidRequestInterceptor(&builder);  // Malformed protobuf: INVALID_ARGUMENT.
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return Fail("cannot serve gRPC on " + grpc_socket);
  ::chmod(grpc_socket.c_str(), 0600);
  if (!grpc_listen.empty()) {
    if (tcp_port == 0) return Fail("cannot serve gRPC on " + grpc_listen);
    LOG(INFO) << "gRPC on TCP port " << tcp_port;
    if (tcp_security->tls) LOG(INFO) << "gRPC on TCP: mutual TLS";
  }
  const std::string http_socket = absl::StrCat(run_dir, "/", kHttpSocket);
  gateway::HttpServerOptions http;
  http.max_connections = absl::GetFlag(FLAGS_http_max_connections);
  http.header_timeout = absl::GetFlag(FLAGS_http_header_timeout);
  http.body_timeout = absl::GetFlag(FLAGS_http_body_timeout);
  http.idle_timeout = absl::GetFlag(FLAGS_http_idle_timeout);
  http.write_timeout = absl::GetFlag(FLAGS_http_write_timeout);
  http.lanes.concurrency = absl::GetFlag(FLAGS_http_vm_concurrency);
  http.lanes.queue_limit = static_cast<size_t>(std::max(0, absl::GetFlag(FLAGS_http_vm_queue)));
  for (absl::string_view host :
       absl::StrSplit(absl::GetFlag(FLAGS_http_allowed_hosts), ',', absl::SkipEmpty())) {
    http.allowed_hosts.emplace_back(host);
  }
  http.tcp_tls = tcp_security->rest;  // TCP only; blimp.sock stays plain.
  if (http.max_connections < 1 || http.lanes.concurrency < 1) {
    return Fail("--http-max-connections and --http-vm-concurrency must be >= 1");
  }
  RestGateways* gateways_for_metrics = nullptr;
  Supervisor* supervisor_for_metrics = supervisor->get();
  absl::StatusOr<std::unique_ptr<RestGateways>> rest = RestGateways::Create(
      api, http_socket, absl::GetFlag(FLAGS_http_listen), http, [&] {
        return RenderMetrics(api.CollectMetrics(),
                             gateways_for_metrics != nullptr ? gateways_for_metrics->counters()
                                                             : gateway::HttpServer::Counters(),
                             supervisor_for_metrics->console_totals(),
                             WatchCounters{api.stats_fanout().subscribers(),
                                           api.stats_fanout().vm_watches(),
                                           api.stats_fanout().coalesced_total()});
      });
  if (!rest.ok()) return Fail(absl::StrCat("REST gateway: ", rest.status().message()));
  if (!absl::GetFlag(FLAGS_http_listen).empty()) {
    LOG(INFO) << "REST on TCP port " << (*rest)->tcp_port();
    if (tcp_security->tls) LOG(INFO) << "REST on TCP: mutual TLS";
  }
  RestGateways* gateways = rest->get();
  gateways_for_metrics = gateways;
  (*supervisor)->SetHooks(VmHooks{
      [gateways](const std::string& vm_id, const std::string& dir) {
        absl::Status status = gateways->AddVm(vm_id, dir);
        if (!status.ok()) LOG(WARNING) << "VM '" << vm_id << "' REST socket: " << status;
      },
      [gateways](const std::string& vm_id) { gateways->RemoveVm(vm_id); }});
  LOG(INFO) << "blimpd serving gRPC on " << grpc_socket << ", REST on " << http_socket
            << " (blimp-vmm: " << options.vmm_binary << ")";

  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) != 0) {
  }
  const bool detach = signal_number == SIGUSR2;
  LOG(INFO) << "blimpd: signal " << signal_number
            << (detach ? ", leaving every VM running for the next blimpd" : ", stopping every VM");
  watchdog.reset();
  vm_events.Close();  // Ends the WatchVmEvents streams before the server waits for them.
  (*rest)->StopAll();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  if (detach) {
    (*supervisor)->Detach();
  } else {
    (*supervisor)->Shutdown();
  }
  supervisor->reset();
  rest->reset();
  if (!detach && !options.memory_cgroup_parent.empty()) {
    // Empty now (every VMM ended); the folder above it may be shared.
    if (auto parent = MemoryCgroup::Open(options.memory_cgroup_parent); parent.ok()) {
      parent->RemoveEmptyChildren();
      parent->Remove(absl::ZeroDuration()).IgnoreError();
    }
    // The default's <own>/blimp, once no blimpd uses it.
    if (absl::GetFlag(FLAGS_memory_cgroup_parent).empty()) {
      const std::string blimp = options.memory_cgroup_parent.substr(
          0, options.memory_cgroup_parent.rfind('/'));
      if (auto shared = MemoryCgroup::Open(blimp); shared.ok()) {
        shared->Remove(absl::ZeroDuration()).IgnoreError();
      }
    }
  }
  ::unlink(grpc_socket.c_str());
  ::unlink(http_socket.c_str());
  LOG(INFO) << "blimpd: stopped";
  return 0;
}

}  // namespace
}  // namespace blimp::daemon

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  return blimp::daemon::Run(argc, argv);
}

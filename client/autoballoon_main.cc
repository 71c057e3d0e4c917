// blimp-autoballoon: keeps a set of VMs' available memory in a band under a
// host memory budget by moving their balloons (see client/policy.h and
// client/README.md).
#include <signal.h>

#include <memory>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_split.h"
#include "base/dashed_flags.h"
#include "client/channel.h"
#include "client/controller.h"
#include "glog/logging.h"

ABSL_FLAG(std::string, server, "unix:/run/blimp/blimp.grpc.sock",
          "blimpd's gRPC address: unix:PATH or HOST:PORT");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate for a HOST:PORT --server with mutual TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls-cert");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA certificate that signed blimpd's certificate");
ABSL_FLAG(std::string, tls_server_name, "",
          "name to check blimpd's certificate for (default: the --server host)");
ABSL_FLAG(std::string, vms, "all", "comma-separated VM ids, or \"all\" (every running VM with a "
          "balloon, listed each round)");
ABSL_FLAG(uint32_t, budget_mib, 0, "total guest memory the host may back: sum of (memory - "
          "balloon) over the VMs (required)");
ABSL_FLAG(double, band_low, 15, "lower edge of the available-memory band, percent of the VM's memory");
ABSL_FLAG(double, band_high, 30, "upper edge of the band, percent");
ABSL_FLAG(uint32_t, floor_mib, 128, "never leave a guest less than this outside the balloon");
ABSL_FLAG(uint32_t, max_step_mib, 256, "largest change of one VM's target per round");
ABSL_FLAG(uint32_t, min_change_mib, 4, "smaller changes are not made");
ABSL_FLAG(double, interval_s, 2, "seconds between rounds");
ABSL_FLAG(double, max_stats_age_s, 10, "statistics older than this are ignored");

int main(int argc, char** argv) {
  blimp::base::NormalizedArgs args(argc, argv);
  absl::SetProgramUsageMessage(
      "blimp-autoballoon --budget-mib N [--vms a,b|all] [--band-low 15 --band-high 30] "
      "[--floor-mib 128] [--interval-s 2] [--server ADDR] "
      "[--tls-cert FILE --tls-key FILE --tls-ca FILE]");
  absl::ParseCommandLine(args.argc(), args.argv());
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (absl::GetFlag(FLAGS_budget_mib) == 0) {
    LOG(ERROR) << "--budget-mib is required";
    return 2;
  }
  const double low = absl::GetFlag(FLAGS_band_low), high = absl::GetFlag(FLAGS_band_high);
  if (!(0 <= low && low < high && high <= 100)) {
    LOG(ERROR) << "want 0 <= --band-low < --band-high <= 100";
    return 2;
  }
  if (absl::GetFlag(FLAGS_interval_s) <= 0) {
    LOG(ERROR) << "--interval-s must be > 0";
    return 2;
  }
  blimp::client::ControllerOptions options;
  if (absl::GetFlag(FLAGS_vms) != "all") {
    options.vm_ids = absl::StrSplit(absl::GetFlag(FLAGS_vms), ',', absl::SkipEmpty());
  }
  options.policy.budget_mib = absl::GetFlag(FLAGS_budget_mib);
  options.policy.band_low = low / 100;
  options.policy.band_high = high / 100;
  options.policy.floor_mib = absl::GetFlag(FLAGS_floor_mib);
  options.policy.max_step_mib = absl::GetFlag(FLAGS_max_step_mib);
  options.policy.min_change_mib = absl::GetFlag(FLAGS_min_change_mib);
  options.policy.max_stats_age = absl::Seconds(absl::GetFlag(FLAGS_max_stats_age_s));
  options.interval = absl::Seconds(absl::GetFlag(FLAGS_interval_s));

  // SIGINT/SIGTERM: a thread waits for them and stops the controller.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = blimp::client::OpenChannel(
      absl::GetFlag(FLAGS_server),
      {absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key), absl::GetFlag(FLAGS_tls_ca),
       absl::GetFlag(FLAGS_tls_server_name)});
  if (!channel.ok()) {
    LOG(ERROR) << channel.status().message();
    return 2;
  }
  blimp::client::Controller controller(*channel, options);
  std::thread waiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    LOG(INFO) << "signal " << signal << ": stopping";
    controller.Stop();
  });
  LOG(INFO) << "budget " << options.policy.budget_mib << " MiB, band " << low << "%.." << high
            << "%, floor " << options.policy.floor_mib << " MiB, every "
            << absl::FormatDuration(options.interval) << " on " << absl::GetFlag(FLAGS_server);
  controller.Run();
  // Run() returns only after Stop(), i.e. after the waiter got its signal.
  waiter.join();
  return 0;
}

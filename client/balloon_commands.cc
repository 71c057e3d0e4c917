// balloon set|get|stats|metrics|interval and balloon hinting start|status|stop.
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/commands.h"
#include "client/format.h"

namespace blimp::client {
namespace {

template <typename Request>
Request For(const std::string& id) {
  Request request;
  request.set_vm_id(id);
  return request;
}

// The balloon's actual size: GetVm carries it whether or not statistics are
// enabled.
grpc::Status FetchActual(Env& env, const std::string& id, uint32_t* actual, uint64_t* rss) {
  blimp::v1::Vm vm;
  grpc::Status status =
      env.vms().GetVm(env.Context(absl::Seconds(10)).get(), For<blimp::v1::GetVmRequest>(id), &vm);
  if (!status.ok()) return status;
  if (!vm.has_balloon_actual_mib()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("VM '", id, "' reports no balloon size (is it running?)"));
  }
  *actual = vm.balloon_actual_mib();
  *rss = vm.vmm_rss_bytes();
  return grpc::Status::OK;
}

// Follows `actual` to `target` with a progress bar (redrawn in place on a
// terminal, one line per change otherwise).
int WaitForBalloon(Env& env, const std::string& id, uint32_t target, absl::Duration stall_timeout,
                   absl::Duration poll) {
  const absl::Time start = absl::Now();
  uint32_t actual = 0;
  uint64_t rss = 0;
  grpc::Status status = FetchActual(env, id, &actual, &rss);
  if (!status.ok()) return env.ServerError(status, absl::StrCat("balloon of VM '", id, "'"));
  const uint32_t first = actual;
  uint32_t last_shown = UINT32_MAX;
  absl::Time last_move = absl::Now();
  uint32_t last_actual = actual;
  auto show = [&](bool final_line) {
    if (actual == last_shown && !final_line) return;
    last_shown = actual;
    std::string line = absl::StrCat(ProgressBar(first, actual, target), "  vmm rss ",
                                    rss ? FormatBytesAsMib(rss) : "-");
    if (env.interactive()) {
      env.out() << "\r\033[K" << line << (final_line ? "\n" : "");
    } else if (!final_line) {
      env.out() << line << "\n";
    }
    env.out().flush();
  };
  while (true) {
    show(false);
    if (actual == target) {
      show(true);
      env.out() << absl::StrFormat("balloon of VM '%s' reached %u MiB in %.2f s\n", id, target,
                                   absl::ToDoubleSeconds(absl::Now() - start));
      return kExitOk;
    }
    if (actual != last_actual) {
      last_actual = actual;
      last_move = absl::Now();
    } else if (absl::Now() - last_move >= stall_timeout) {
      show(true);
      env.err() << absl::StrFormat(
          "blimpctl: the guest stopped at %u MiB for %d s (target %u MiB); the balloon may "
          "still move later\n",
          actual, static_cast<int>(absl::ToInt64Seconds(stall_timeout)), target);
      return kExitStalled;
    }
    absl::SleepFor(poll);
    status = FetchActual(env, id, &actual, &rss);
    if (!status.ok()) {
      if (env.interactive()) env.out() << "\n";
      return env.ServerError(status, absl::StrCat("balloon of VM '", id, "'"));
    }
  }
}

int BalloonSet(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  uint32_t amount = 0, stall_s = 10, poll_ms = 100;
  bool wait = false;
  FlagSet flags;
  flags.Uint("amount-mib", &amount, "the balloon's new target size (required)", "MIB");
  flags.Bool("wait", &wait, "follow the guest with a progress bar until it gets there");
  flags.Uint("stall-timeout-s", &stall_s, "with --wait: give up when the size has not moved for "
             "this long", "S");
  flags.Uint("poll-ms", &poll_ms, "with --wait: how often to ask", "MS");
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, false, args, {"ID"}, &positional)) return *rc;
  if (!flags.seen("amount-mib")) return env.UsageError("--amount-mib is required");
  if (stall_s == 0 || poll_ms == 0) return env.UsageError("--stall-timeout-s and --poll-ms must be > 0");
  const std::string& id = positional[0];
  auto request = For<blimp::v1::PatchBalloonRequest>(id);
  request.mutable_update()->set_amount_mib(amount);
  google::protobuf::Empty empty;
  grpc::Status status = env.balloons().PatchBalloon(env.Context().get(), request, &empty);
  if (!status.ok()) return env.ServerError(status, absl::StrCat("set balloon of VM '", id, "'"));
  if (!wait) {
    env.out() << "balloon target of VM '" << id << "' set to " << amount << " MiB\n";
    return kExitOk;
  }
  return WaitForBalloon(env, id, amount, absl::Seconds(stall_s), absl::Milliseconds(poll_ms));
}

int BalloonGet(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  FlagSet flags;
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, true, args, {"ID"}, &positional)) return *rc;
  blimp::v1::Balloon balloon;
  grpc::Status status = env.balloons().GetBalloon(
      env.Context().get(), For<blimp::v1::GetBalloonRequest>(positional[0]), &balloon);
  if (!status.ok()) return env.ServerError(status, absl::StrCat("balloon of VM '", positional[0], "'"));
  env.Print(balloon, FormatBalloon(balloon));
  return kExitOk;
}

int BalloonStats(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  bool watch = false;
  uint32_t count = 0;
  FlagSet flags;
  flags.Bool("watch", &watch, "refresh on every update from the guest until Ctrl-C");
  flags.Uint("count", &count, "with --watch: stop after N updates (0 = never)");
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, true, args, {"ID"}, &positional)) return *rc;
  const std::string& id = positional[0];
  blimp::v1::BalloonStats stats;
  if (!watch) {
    grpc::Status status = env.balloons().GetBalloonStatistics(
        env.Context().get(), For<blimp::v1::GetBalloonStatisticsRequest>(id), &stats);
    if (!status.ok()) return env.ServerError(status, absl::StrCat("statistics of VM '", id, "'"));
    env.Print(stats, FormatBalloonStats(stats));
    return kExitOk;
  }
  grpc::ClientContext context;  // No deadline: until Ctrl-C.
  auto reader = env.balloons().WatchBalloonStatistics(
      &context, For<blimp::v1::WatchBalloonStatisticsRequest>(id));
  uint32_t seen = 0;
  while (reader->Read(&stats)) {
    ++seen;
    if (env.interactive() && !env.json()) env.out() << "\033[H\033[2J";  // Clear the screen.
    const std::string time = absl::FormatTime("%H:%M:%S", absl::Now(), absl::LocalTimeZone());
    env.Print(stats, absl::StrCat("VM '", id, "' at ", time, "\n", FormatBalloonStats(stats),
                                  env.interactive() ? "" : "\n"));
    if (count != 0 && seen >= count) {
      context.TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  if (count != 0 && seen >= count) return kExitOk;
  if (!status.ok()) return env.ServerError(status, absl::StrCat("statistics of VM '", id, "'"));
  return kExitOk;
}

int BalloonMetrics(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  FlagSet flags;
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, true, args, {"ID"}, &positional)) return *rc;
  blimp::v1::BalloonMetrics metrics;
  grpc::Status status = env.balloons().GetBalloonMetrics(
      env.Context().get(), For<blimp::v1::GetBalloonMetricsRequest>(positional[0]), &metrics);
  if (!status.ok()) return env.ServerError(status, absl::StrCat("metrics of VM '", positional[0], "'"));
  env.Print(metrics, FormatBalloonMetrics(metrics));
  return kExitOk;
}

int BalloonInterval(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  FlagSet flags;
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, false, args, {"ID", "SECONDS"}, &positional)) return *rc;
  uint32_t seconds;
  if (positional[1].empty() || positional[1][0] == '-' ||
      !absl::SimpleAtoi(positional[1], &seconds)) {
    return env.UsageError(absl::StrCat("SECONDS wants a non-negative integer, not \"",
                                       positional[1], "\""));
  }
  auto request = For<blimp::v1::PatchBalloonStatisticsRequest>(positional[0]);
  request.mutable_update()->set_stats_polling_interval_s(seconds);
  google::protobuf::Empty empty;
  grpc::Status status =
      env.balloons().PatchBalloonStatistics(env.Context().get(), request, &empty);
  if (!status.ok()) {
    return env.ServerError(status, absl::StrCat("statistics interval of VM '", positional[0], "'"));
  }
  env.out() << "statistics of VM '" << positional[0] << "' every " << seconds << " s\n";
  return kExitOk;
}

int HintingStart(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  bool acknowledge = true;
  FlagSet flags;
  flags.Bool("acknowledge-on-stop", &acknowledge,
             "the device acknowledges the run when the guest stops it");
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, false, args, {"ID"}, &positional)) return *rc;
  auto request = For<blimp::v1::StartBalloonHintingRequest>(positional[0]);
  if (flags.seen("acknowledge-on-stop")) {
    request.mutable_start()->set_acknowledge_on_stop(acknowledge);
  }
  google::protobuf::Empty empty;
  grpc::Status status = env.balloons().StartBalloonHinting(env.Context().get(), request, &empty);
  if (!status.ok()) return env.ServerError(status, absl::StrCat("start hinting on VM '", positional[0], "'"));
  env.out() << "free page hinting started on VM '" << positional[0] << "'\n";
  return kExitOk;
}

int HintingStatus(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  FlagSet flags;
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, true, args, {"ID"}, &positional)) return *rc;
  blimp::v1::HintingStatus hinting;
  grpc::Status status = env.balloons().GetBalloonHintingStatus(
      env.Context().get(), For<blimp::v1::GetBalloonHintingStatusRequest>(positional[0]),
      &hinting);
  if (!status.ok()) return env.ServerError(status, absl::StrCat("hinting status of VM '", positional[0], "'"));
  env.Print(hinting, FormatHintingStatus(hinting));
  return kExitOk;
}

int HintingStop(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  FlagSet flags;
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, false, args, {"ID"}, &positional)) return *rc;
  google::protobuf::Empty empty;
  grpc::Status status = env.balloons().StopBalloonHinting(
      env.Context().get(), For<blimp::v1::StopBalloonHintingRequest>(positional[0]), &empty);
  if (!status.ok()) return env.ServerError(status, absl::StrCat("stop hinting on VM '", positional[0], "'"));
  env.out() << "free page hinting stopped on VM '" << positional[0] << "'\n";
  return kExitOk;
}

}  // namespace

std::vector<Command> BalloonCommands() {
  return {
      {{"balloon set", "ID --amount-mib N [--wait]", "Set the balloon's target size.",
        "The guest gives the memory back (inflate) or takes it again (deflate) at its\n"
        "own pace. --wait shows a progress bar of the actual size until it reaches the\n"
        "target and prints the time it took; if the size stops moving for\n"
        "--stall-timeout-s, it says where the guest stopped and exits with 3."},
       BalloonSet},
      {{"balloon get", "ID", "Show the balloon's configuration (amount_mib = current target).",
        ""},
       BalloonGet},
      {{"balloon stats", "ID [--watch]", "Show the balloon's size and the guest's statistics.",
        "Sizes in bytes are shown in MiB (--output json keeps the contract's bytes).\n"
        "--watch follows every update the guest sends until Ctrl-C (json: one object\n"
        "per line)."},
       BalloonStats},
      {{"balloon metrics", "ID", "Show the balloon device's counters.", ""}, BalloonMetrics},
      {{"balloon interval", "ID SECONDS", "Change the statistics polling interval.",
        "Statistics enabled at install cannot be turned off (0) after boot, and the\n"
        "other way round."},
       BalloonInterval},
      {{"balloon hinting start", "ID [--acknowledge-on-stop=false]",
        "Start a free page hinting run.", ""},
       HintingStart},
      {{"balloon hinting status", "ID", "Show the hinting command ids (host and guest).", ""},
       HintingStatus},
      {{"balloon hinting stop", "ID", "Stop the hinting run.", ""}, HintingStop},
  };
}

}  // namespace blimp::client

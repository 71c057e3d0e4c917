// top: a live terminal view of every VM of a blimpd. ListVms every
// --interval-ms; one WatchBalloonStatistics stream (a thread each) per
// running or paused VM whose balloon sends statistics. The terminal is in raw
// mode on the alternate screen while it runs; rendering is top_view.cc.
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "client/commands.h"
#include "client/top_view.h"

namespace blimp::client {
namespace {

using blimp::v1::BalloonStats;

std::atomic<bool> stop_requested{false};
void OnStopSignal(int) { stop_requested = true; }
void OnWinch(int) {}  // Only to wake poll() up.

// Handlers for SIGINT, SIGTERM, SIGHUP and SIGWINCH while it lives (no
// SA_RESTART: poll() returns EINTR), the old ones back after.
class Signals {
 public:
  Signals() {
    stop_requested = false;
    for (int i = 0; i < 4; ++i) {
      struct sigaction action {};
      action.sa_handler = kSignals[i] == SIGWINCH ? OnWinch : OnStopSignal;
      sigemptyset(&action.sa_mask);
      ::sigaction(kSignals[i], &action, &saved_[i]);
    }
  }
  ~Signals() {
    for (int i = 0; i < 4; ++i) ::sigaction(kSignals[i], &saved_[i], nullptr);
  }
  Signals(const Signals&) = delete;
  Signals& operator=(const Signals&) = delete;

 private:
  static constexpr int kSignals[4] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};
  struct sigaction saved_[4] {};
};

// Raw keyboard input (when stdin is a terminal) and the alternate screen
// without a cursor, all restored when it goes.
class Screen {
 public:
  explicit Screen(std::ostream& out) : out_(out) {
    if (::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved_) == 0) {
      struct termios raw = saved_;
      ::cfmakeraw(&raw);
      raw_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    out_ << "\033[?1049h\033[?25l" << std::flush;
  }
  ~Screen() {
    out_ << "\033[?25h\033[?1049l" << std::flush;
    if (raw_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  Screen(const Screen&) = delete;
  Screen& operator=(const Screen&) = delete;

  // Draws `frame` ("\n"-separated lines) from the top left corner.
  void Draw(const std::string& frame) {
    std::string text = frame;
    if (absl::EndsWith(text, "\n")) text.pop_back();
    // Raw mode has no output processing: "\r\n", and each line cleared to its end.
    out_ << "\033[H" << absl::StrReplaceAll(text, {{"\n", "\033[K\r\n"}}) << "\033[K\033[J"
         << std::flush;
  }

 private:
  std::ostream& out_;
  struct termios saved_ {};
  bool raw_ = false;
};

// The terminal's size, from stdout (80x24 when it does not say).
void TerminalSize(int* width, int* height) {
  struct winsize size {};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 && size.ws_row > 0) {
    *width = size.ws_col;
    *height = size.ws_row;
  } else {
    *width = 80;
    *height = 24;
  }
}

// Whether the locale says UTF-8 (for the history bars' block characters).
bool Utf8Locale() {
  for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') continue;
    const std::string lower = absl::AsciiStrToLower(value);
    return absl::StrContains(lower, "utf-8") || absl::StrContains(lower, "utf8");
  }
  return false;
}

// The VMs whose balloon sends statistics, and that have a VMM to send them.
std::set<std::string> StatsVms(const blimp::v1::ListVmsResponse& list) {
  std::set<std::string> ids;
  for (const blimp::v1::Vm& vm : list.vms()) {
    if ((vm.state() == blimp::v1::VM_STATE_RUNNING || vm.state() == blimp::v1::VM_STATE_PAUSED) &&
        vm.config().has_balloon() && vm.config().balloon().stats_polling_interval_s() > 0) {
      ids.insert(vm.vm_id());
    }
  }
  return ids;
}

// One WatchBalloonStatistics stream per VM, each read on its own thread; the
// latest statistics of each wait in a map for the drawing loop.
class Watchers {
 public:
  explicit Watchers(blimp::v1::BalloonService::Stub& stub) : stub_(stub) {}
  ~Watchers() { Sync({}); }
  Watchers(const Watchers&) = delete;
  Watchers& operator=(const Watchers&) = delete;

  // Streams for the VMs in `ids`: new ones started, those of other VMs
  // cancelled; one that ended (the VM stopped, blimpd said no) is started
  // again at most every 5 s.
  void Sync(const std::set<std::string>& ids) {
    for (auto it = watches_.begin(); it != watches_.end();) {
      Watch& watch = *it->second;
      const bool wanted = ids.count(it->first) != 0;
      if (wanted && !(watch.ended && absl::Now() - watch.started > absl::Seconds(5))) {
        ++it;
        continue;
      }
      watch.context->TryCancel();
      watch.thread.join();
      it = watches_.erase(it);
    }
    for (const std::string& id : ids) {
      if (watches_.count(id) == 0) Start(id);
    }
  }

  // The statistics that came since the last call, by VM.
  std::map<std::string, BalloonStats> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(latest_, {});
  }

 private:
  struct Watch {
    std::unique_ptr<grpc::ClientContext> context = std::make_unique<grpc::ClientContext>();
    std::thread thread;
    std::atomic<bool> ended{false};
    absl::Time started = absl::Now();
  };

  void Start(const std::string& id) {
    auto watch = std::make_unique<Watch>();
    Watch* raw = watch.get();
    raw->thread = std::thread([this, raw, id] {
      blimp::v1::WatchBalloonStatisticsRequest request;
      request.set_vm_id(id);
      auto reader = stub_.WatchBalloonStatistics(raw->context.get(), request);
      BalloonStats stats;
      while (reader->Read(&stats)) {
        std::lock_guard<std::mutex> lock(mu_);
        latest_[id] = stats;
      }
      reader->Finish().IgnoreError();
      raw->ended = true;
    });
    watches_[id] = std::move(watch);
  }

  blimp::v1::BalloonService::Stub& stub_;
  std::map<std::string, std::unique_ptr<Watch>> watches_;
  std::mutex mu_;
  std::map<std::string, BalloonStats> latest_;  // Guarded by mu_.
};

std::string Title(const Env& env) {
  return absl::StrCat("blimpctl top  ", env.server(), "  ",
                      absl::FormatTime("%H:%M:%S", absl::Now(), absl::LocalTimeZone()));
}

// --once: one frame of what ListVms and GetBalloonStatistics say now.
int Once(Env& env, TopSort sort, bool unicode) {
  blimp::v1::ListVmsResponse list;
  grpc::Status status = env.vms().ListVms(env.Context().get(), {}, &list);
  if (!status.ok()) return env.ServerError(status, "list VMs");
  TopModel model;
  model.UpdateVms({list.vms().begin(), list.vms().end()});
  for (const std::string& id : StatsVms(list)) {
    blimp::v1::GetBalloonStatisticsRequest request;
    request.set_vm_id(id);
    BalloonStats stats;
    if (env.balloons().GetBalloonStatistics(env.Context(absl::Seconds(5)).get(), request, &stats)
            .ok()) {
      model.UpdateStats(id, stats);
    }
  }
  TopFrameOptions options;
  options.unicode = unicode;
  options.title = Title(env);
  if (env.interactive()) TerminalSize(&options.width, &options.height);
  options.height = 0;  // All rows, no help line.
  env.out() << RenderTopFrame(model.Rows(sort), sort, options) << std::flush;
  return kExitOk;
}

int Top(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  bool once = false, ascii = false;
  uint32_t interval_ms = 1000;
  std::string sort_name = "id";
  FlagSet flags;
  flags.Bool("once", &once, "print one frame (no terminal needed) and exit");
  flags.Uint("interval-ms", &interval_ms, "ListVms every N milliseconds (100..60000)");
  flags.String("sort", &sort_name, "first sort column: id, mem, balloon, rss, free or avail",
               "COLUMN");
  flags.Bool("ascii", &ascii, "ASCII history bars (default: block characters in a UTF-8 locale)");
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, false, args, {}, &positional)) return *rc;
  std::optional<TopSort> sort;
  for (int i = 0; i < kTopSortCount; ++i) {
    if (TopSortName(static_cast<TopSort>(i)) == sort_name) sort = static_cast<TopSort>(i);
  }
  if (!sort) return env.UsageError(absl::StrCat("--sort: no column \"", sort_name, "\""));
  if (interval_ms < 100 || interval_ms > 60000) {
    return env.UsageError("--interval-ms wants 100..60000");
  }
  const bool unicode = !ascii && Utf8Locale();
  if (once) return Once(env, *sort, unicode);
  if (!env.interactive()) {
    return env.UsageError("top needs a terminal on stdout (--once prints one frame)");
  }

  Signals signals;
  TopModel model;
  Watchers watchers(env.balloons());
  std::string status;
  Screen screen(env.out());
  bool read_keys = ::isatty(STDIN_FILENO) != 0;
  absl::Time next_list = absl::InfinitePast();
  int width = 0, height = 0;
  bool dirty = true;
  while (!stop_requested) {
    if (absl::Now() >= next_list) {
      blimp::v1::ListVmsResponse list;
      grpc::Status listed = env.vms().ListVms(env.Context(absl::Seconds(5)).get(), {}, &list);
      if (listed.ok()) {
        status.clear();
        model.UpdateVms({list.vms().begin(), list.vms().end()});
        watchers.Sync(StatsVms(list));
      } else {
        status = absl::StrCat("blimpd at ", env.server(), ": ", listed.error_message());
      }
      next_list = absl::Now() + absl::Milliseconds(interval_ms);
      dirty = true;
    }
    for (const auto& [id, stats] : watchers.Take()) {
      model.UpdateStats(id, stats);
      dirty = true;
    }
    int new_width, new_height;
    TerminalSize(&new_width, &new_height);
    if (new_width != width || new_height != height) {
      width = new_width;
      height = new_height;
      dirty = true;
    }
    if (dirty) {
      TopFrameOptions options;
      // One column short: a full last column leaves the cursor in the
      // terminal's pending wrap, where "erase to end of line" eats it.
      options.width = width - 1;
      options.height = height;
      options.unicode = unicode;
      options.title = Title(env);
      options.status = status;
      screen.Draw(RenderTopFrame(model.Rows(*sort), *sort, options));
      dirty = false;
    }
    // Keys, or 200 ms (statistics and a resize are looked at that often).
    struct pollfd input {STDIN_FILENO, POLLIN, 0};
    if (!read_keys) {
      ::poll(nullptr, 0, 200);
      continue;
    }
    if (::poll(&input, 1, 200) <= 0) continue;
    char keys[64];
    const ssize_t n = ::read(STDIN_FILENO, keys, sizeof(keys));
    if (n <= 0) {
      read_keys = false;  // stdin ended: no more keys, q or a signal ends top.
      continue;
    }
    for (ssize_t i = 0; i < n; ++i) {
      const char key = keys[i];
      if (key == 'q' || key == 'Q' || key == 3 /* Ctrl-C */ || key == 4 /* Ctrl-D */) {
        stop_requested = true;
      } else if (key == 's') {
        sort = NextTopSort(*sort);
      } else if (auto picked = TopSortForKey(key)) {
        sort = *picked;
      }
    }
    dirty = true;
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> TopCommands() {
  return {
      {{"top", "[--once] [--sort COLUMN] [--interval-ms N] [--ascii]",
        "Live view of every VM: state, memory, balloon, RSS, guest free memory.",
        "Columns (MiB): ID STATE VCPUS MEM TARGET ACTUAL (balloon) RSS (the VMM's\n"
        "resident memory) FREE AVAIL (the guest's balloon statistics) FLAG (blimpd's\n"
        "memory enforcement flagged the VM) HISTORY (the last 20 samples of the\n"
        "balloon's actual size, or of RSS without a balloon, against MEM).\n"
        "Keys: q quit, s next sort column, i id, m mem, b balloon, r rss, f free,\n"
        "a avail (ids ascending, the others largest first).\n"
        "Needs a terminal on stdout unless --once, which prints one frame and exits."},
       Top},
  };
}

}  // namespace blimp::client

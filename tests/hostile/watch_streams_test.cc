// Many WatchBalloonStatistics streams on one VM against the real blimpd:
// they all get updates while blimpd holds no thread per stream and the VMM
// keeps a single watch connection for all of them; other calls to the VM
// stay fast; a client leaving frees its slot; the VM stopping ends the rest;
// a SIGSTOPped VM stalls only its own streams; SIGTERM ends them all.
#include <dirent.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <optional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/http_client.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

constexpr int kStreams = 64;

// "Threads:" of /proc/<pid>/status, -1 if unreadable.
int ThreadCount(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    int threads;
    if (absl::StartsWith(line, "Threads:") &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(8)), &threads)) {
      return threads;
    }
  }
  return -1;
}

// One line of GET /metrics, e.g. "blimp_daemon_watch_streams": its value.
int64_t Metric(DaemonProcess& daemon, const std::string& name) {
  auto metrics = HttpRequest(daemon.rest_socket(), "GET", "/metrics");
  if (!metrics.ok() || metrics->status != 200) return -1;
  for (absl::string_view line : absl::StrSplit(metrics->body, '\n')) {
    int64_t value;
    if (absl::ConsumePrefix(&line, name + " ") && absl::SimpleAtoi(line, &value)) return value;
  }
  return -1;
}

// Polls `probe` until it returns `want` (up to `timeout`); its last value.
template <typename Probe>
auto Eventually(Probe probe, decltype(probe()) want, absl::Duration timeout = absl::Seconds(10)) {
  auto value = probe();
  for (absl::Time end = absl::Now() + timeout; value != want && absl::Now() < end;) {
    absl::SleepFor(absl::Milliseconds(50));
    value = probe();
  }
  return value;
}

// One client stream on its own thread, reading until it ends.
class Stream {
 public:
  Stream(DaemonProcess& daemon, const std::string& vm_id) {
    thread_ = std::thread([this, &daemon, vm_id] {
      blimp::v1::WatchBalloonStatisticsRequest request;
      request.set_vm_id(vm_id);
      auto reader = daemon.balloons().WatchBalloonStatistics(&context_, request);
      blimp::v1::BalloonStats stats;
      while (reader->Read(&stats)) ++updates_;
      grpc::Status status = reader->Finish();
      absl::MutexLock lock(&mu_);
      status_ = status;
    });
  }
  ~Stream() {
    context_.TryCancel();
    thread_.join();
  }
  int updates() const { return updates_.load(); }
  void Cancel() { context_.TryCancel(); }
  // The stream's final status, once it has ended (within `timeout`).
  std::optional<grpc::Status> WaitForEnd(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return status_.has_value(); };
    mu_.AwaitWithTimeout(absl::Condition(&ended), timeout);
    return status_;
  }

 private:
  grpc::ClientContext context_;
  std::atomic<int> updates_{0};
  absl::Mutex mu_;
  std::optional<grpc::Status> status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

TEST(WatchStreamsTest, SixtyFourStreamsShareOneVmmWatchAndNoDaemonThreads) {
  SKIP_WITHOUT_KVM();
  auto started = DaemonProcess::Start({absl::StrCat("--max-watches-per-vm=", kStreams)});
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  ASSERT_TRUE(daemon.BootTestGuest("vm", 128).ok());
  auto vm = daemon.GetVm("vm");
  ASSERT_TRUE(vm.ok()) << vm.status();
  const pid_t vmm_pid = vm->vmm_pid();
  // One stream first: the threads that exist once any stream has run.
  {
    Stream warmup(daemon, "vm");
    ASSERT_GE(Eventually([&] { return warmup.updates() >= 1; }, true), true);
  }
  ASSERT_EQ(Eventually([&] { return Metric(daemon, "blimp_daemon_watch_vmm_connections"); }, 0),
            0);
  // The VMM ends the warmup's watch thread within its 200 ms slice; the
  // /metrics probes keep two pooled call connections (a thread each) open.
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_GE(Metric(daemon, "blimp_daemon_watch_streams"), 0);
  const int vmm_threads = ThreadCount(vmm_pid);
  const int daemon_threads = ThreadCount(daemon.pid());
  ASSERT_GT(daemon_threads, 0);
  ASSERT_GT(vmm_threads, 0);

  std::vector<std::unique_ptr<Stream>> streams;
  for (int i = 0; i < kStreams; ++i) streams.push_back(std::make_unique<Stream>(daemon, "vm"));
  // Every stream sees the snapshot at its start and the guest's refreshes
  // (every second) after it.
  for (auto& stream : streams) {
    EXPECT_GE(Eventually([&] { return stream->updates() >= 3; }, true, absl::Seconds(20)), true)
        << stream->updates();
  }
  EXPECT_EQ(Metric(daemon, "blimp_daemon_watch_streams"), kStreams);
  EXPECT_EQ(Metric(daemon, "blimp_daemon_watch_vmm_connections"), 1);
  const int daemon_threads_now = ThreadCount(daemon.pid());
  const int vmm_threads_now = ThreadCount(vmm_pid);
  std::cout << "blimpd threads: " << daemon_threads << " -> " << daemon_threads_now << " with "
            << kStreams << " streams; blimp-vmm threads: " << vmm_threads << " -> "
            << vmm_threads_now << "\n";
  // A thread per stream would be +64; gRPC may add a few of its own.
  EXPECT_LE(daemon_threads_now, daemon_threads + 8);
  // The VMM serves each control connection on a thread: one watch for all
  // (a thread per stream would be +64; +1 slack for a pooled call connection).
  EXPECT_LE(vmm_threads_now, vmm_threads + 2);

  // The 65th is refused; the VM's other calls answer as fast as ever.
  {
    Stream refused(daemon, "vm");
    std::optional<grpc::Status> status = refused.WaitForEnd(absl::Seconds(5));
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << status->error_message();
  }
  for (int i = 0; i < 20; ++i) {
    const absl::Time begin = absl::Now();
    ASSERT_TRUE(daemon.Stats("vm").ok());
    ASSERT_TRUE(daemon.GetVm("vm").ok());
    EXPECT_LT(absl::Now() - begin, absl::Milliseconds(500));
  }

  // Half of the clients leave: their slots are freed, the watch stays.
  for (int i = 0; i < kStreams / 2; ++i) streams[i]->Cancel();
  for (int i = 0; i < kStreams / 2; ++i) {
    std::optional<grpc::Status> status = streams[i]->WaitForEnd(absl::Seconds(5));
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_EQ(Eventually([&] { return Metric(daemon, "blimp_daemon_watch_streams"); },
                       kStreams / 2),
            kStreams / 2);
  EXPECT_EQ(Metric(daemon, "blimp_daemon_watch_vmm_connections"), 1);
  const int before_more = streams[kStreams - 1]->updates();
  EXPECT_GE(Eventually([&] { return streams[kStreams - 1]->updates() > before_more; }, true),
            true);

  // The VM stops: every remaining stream ends with UNAVAILABLE naming it.
  blimp::v1::StopVmRequest stop;
  stop.set_vm_id("vm");
  blimp::v1::Vm stopped;
  grpc::ClientContext stop_context;
  ASSERT_TRUE(daemon.vms().StopVm(&stop_context, stop, &stopped).ok());
  for (int i = kStreams / 2; i < kStreams; ++i) {
    std::optional<grpc::Status> status = streams[i]->WaitForEnd(absl::Seconds(10));
    ASSERT_TRUE(status.has_value()) << "stream " << i << " outlived its VM";
    EXPECT_EQ(status->error_code(), grpc::StatusCode::UNAVAILABLE) << status->error_message();
    EXPECT_NE(status->error_message().find("VM 'vm'"), std::string::npos)
        << status->error_message();
  }
  EXPECT_EQ(Eventually([&] { return Metric(daemon, "blimp_daemon_watch_streams"); }, 0), 0);
  EXPECT_EQ(Metric(daemon, "blimp_daemon_watch_vmm_connections"), 0);
}

TEST(WatchStreamsTest, AWedgedVmStallsOnlyItsOwnStreams) {
  SKIP_WITHOUT_KVM();
  auto started = DaemonProcess::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  ASSERT_TRUE(daemon.BootTestGuest("wedged", 128).ok());
  ASSERT_TRUE(daemon.BootTestGuest("healthy", 128).ok());
  auto wedged_vm = daemon.GetVm("wedged");
  ASSERT_TRUE(wedged_vm.ok());
  std::vector<std::unique_ptr<Stream>> wedged, healthy;
  for (int i = 0; i < 4; ++i) {
    wedged.push_back(std::make_unique<Stream>(daemon, "wedged"));
    healthy.push_back(std::make_unique<Stream>(daemon, "healthy"));
  }
  for (auto* group : {&wedged, &healthy}) {
    for (auto& stream : *group) {
      ASSERT_GE(Eventually([&] { return stream->updates() >= 1; }, true), true);
    }
  }
  ASSERT_EQ(::kill(wedged_vm->vmm_pid(), SIGSTOP), 0);
  absl::SleepFor(absl::Milliseconds(200));
  std::vector<int> before;
  for (auto& stream : healthy) before.push_back(stream->updates());
  // The guest refreshes every second: two more each, as if nothing happened.
  for (size_t i = 0; i < healthy.size(); ++i) {
    EXPECT_GE(Eventually([&] { return healthy[i]->updates() >= before[i] + 2; }, true,
                         absl::Seconds(6)),
              true);
  }
  for (auto& stream : wedged) EXPECT_FALSE(stream->WaitForEnd(absl::ZeroDuration()).has_value());
  // New streams start at once on both: the one on the wedged VM joins its
  // open watch and gets the last snapshot without asking the VMM.
  Stream late_healthy(daemon, "healthy");
  Stream late_wedged(daemon, "wedged");
  EXPECT_GE(Eventually([&] { return late_healthy.updates() >= 1; }, true, absl::Seconds(2)), true);
  EXPECT_GE(Eventually([&] { return late_wedged.updates() >= 1; }, true, absl::Seconds(2)), true);
  ::kill(wedged_vm->vmm_pid(), SIGCONT);
  const int resumed_from = wedged[0]->updates();
  EXPECT_GE(Eventually([&] { return wedged[0]->updates() > resumed_from; }, true), true)
      << "the wedged VM's streams did not resume";
  EXPECT_GE(Eventually([&] { return late_wedged.updates() >= 2; }, true), true);
}

TEST(WatchStreamsTest, SigtermWithOpenStreamsEndsThemAndExitsCleanly) {
  SKIP_WITHOUT_KVM();
  auto started = DaemonProcess::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  ASSERT_TRUE(daemon.BootTestGuest("a", 128).ok());
  ASSERT_TRUE(daemon.BootTestGuest("b", 128).ok());
  std::vector<std::unique_ptr<Stream>> streams;
  for (int i = 0; i < 8; ++i) {
    streams.push_back(std::make_unique<Stream>(daemon, i % 2 == 0 ? "a" : "b"));
  }
  for (auto& stream : streams) {
    ASSERT_GE(Eventually([&] { return stream->updates() >= 1; }, true), true);
  }
  EXPECT_EQ(Metric(daemon, "blimp_daemon_watch_vmm_connections"), 2);
  const absl::Time begin = absl::Now();
  daemon.Signal(SIGTERM);
  std::optional<int> status = daemon.WaitExit(absl::Seconds(15));
  ASSERT_TRUE(status.has_value()) << "blimpd did not exit with streams open";
  EXPECT_EQ(*status, 0);
  std::cout << "SIGTERM with 8 open streams: exit after " << absl::Now() - begin << "\n";
  for (auto& stream : streams) {
    std::optional<grpc::Status> end = stream->WaitForEnd(absl::Seconds(5));
    ASSERT_TRUE(end.has_value());
    EXPECT_FALSE(end->ok());
  }
}

}  // namespace
}  // namespace blimp::tests

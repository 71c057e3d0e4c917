// GET /metrics as Prometheus sees it: a real blimpd on loopback TCP with test
// guests, its live output checked by `promtool check metrics` (any warning
// fails), and a real Prometheus server scraping it every second, asked with
// PromQL for a VM's balloon size after an inflate.
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/host_tools.h"
#include "tests/e2e/http_client.h"
#include "tests/e2e/prometheus_server.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

constexpr uint64_t kMiB = 1 << 20;

// A blimpd with REST on 127.0.0.1:<port>, a running test guest "vm" (128
// MiB, balloon) and "idle", created but never started (so some families have
// no sample for it).
class PrometheusE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Tools first: missing ones fail (scripts/setup.sh installs them).
    for (const char* tool : {"curl", "promtool", "prometheus"}) {
      absl::StatusOr<std::string> path = FindTool(tool);
      ASSERT_TRUE(path.ok()) << path.status();
      tools_[tool] = *path;
    }
    SKIP_WITHOUT_KVM();
    auto daemon = DaemonProcess::Start({"--http-listen=127.0.0.1:0"});
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
    absl::StatusOr<int> port = daemon_->RestTcpPort();
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    absl::Status booted = daemon_->BootTestGuest("vm", 128);
    ASSERT_TRUE(booted.ok()) << booted;
    auto idle = HttpRequest(daemon_->rest_socket(), "PUT", "/vms/idle",
                            absl::StrCat(R"({"boot-source": {"kernel_image_path": ")",
                                         TestGuestKernel(),
                                         R"("}, "machine-config": {"vcpu_count": 1, )",
                                         R"("mem_size_mib": 64}})"));
    ASSERT_TRUE(idle.ok()) << idle.status();
    ASSERT_EQ(idle->status, 204) << idle->body;
  }

  std::map<std::string, std::string> tools_;
  std::unique_ptr<DaemonProcess> daemon_;
  int port_ = 0;
};

TEST_F(PrometheusE2eTest, PromtoolAcceptsTheLiveMetrics) {
  ASSERT_TRUE(daemon_->SetTarget("vm", 32).ok());
  ASSERT_TRUE(daemon_->WaitForActual("vm", 32).ok());
  // Over TCP, as a Prometheus server scrapes it.
  const std::string file = absl::StrCat(daemon_->run_dir(), "/metrics.txt");
  CommandResult fetched = RunCommand(absl::StrCat(tools_["curl"], " -sS --max-time 5 -o ", file,
                                                  " -w '%{http_code}' http://127.0.0.1:", port_,
                                                  "/metrics"));
  ASSERT_EQ(fetched.exit_code, 0) << fetched.output;
  ASSERT_EQ(fetched.output, "200");
  std::stringstream text;
  text << std::ifstream(file).rdbuf();
  // The real thing: both VMs, the balloon in bytes, blimpd's own families.
  EXPECT_NE(text.str().find("blimp_vm_state{vm=\"idle\",state=\"not_started\"} 1\n"),
            std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find(absl::StrCat("blimp_balloon_actual_bytes{vm=\"vm\"} ", 32 * kMiB,
                                         "\n")),
            std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find("# TYPE blimp_daemon_http_requests_total counter\n"),
            std::string::npos);

  // promtool: exit 1 on a parse error, 3 on a lint problem; it prints each.
  CommandResult check =
      RunCommand(absl::StrCat("timeout 20 ", tools_["promtool"], " check metrics < ", file));
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_EQ(check.output, "") << "promtool check metrics complained";
}

// Polls `promql` on `prometheus` until it gives exactly `want` (one series),
// for at most `timeout`; the last answer otherwise.
absl::StatusOr<std::vector<double>> QueryUntil(const PrometheusServer& prometheus,
                                               const std::string& promql, double want,
                                               absl::Duration timeout) {
  absl::StatusOr<std::vector<double>> values;
  for (absl::Time deadline = absl::Now() + timeout;; absl::SleepFor(absl::Milliseconds(100))) {
    values = prometheus.Query(promql);
    if (values.ok() && *values == std::vector<double>{want}) return values;
    if (absl::Now() > deadline) return values;
  }
}

TEST_F(PrometheusE2eTest, PrometheusSeesTheInflatedBalloon) {
  const absl::Time started = absl::Now();
  auto prometheus = PrometheusServer::Start(port_, absl::Seconds(1), absl::Seconds(20));
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();
  const PrometheusServer& server = **prometheus;
  std::printf("prometheus ready after %s\n", absl::FormatDuration(absl::Now() - started).c_str());
  // Its discovery hands targets to the scrape loop in 5 s batches, so the
  // first scrape comes ~5 s after start: wait for it, balloon still empty.
  const std::string query = R"(blimp_balloon_actual_bytes{job="blimpd",vm="vm"})";
  auto before = QueryUntil(server, query, 0, absl::Seconds(15));
  ASSERT_TRUE(before.ok()) << before.status() << "\n" << server.Log();
  ASSERT_EQ(*before, std::vector<double>{0}) << "no first scrape:\n" << server.Log();
  std::printf("first scrape seen after %s\n", absl::FormatDuration(absl::Now() - started).c_str());

  ASSERT_TRUE(daemon_->SetTarget("vm", 48).ok());
  ASSERT_TRUE(daemon_->WaitForActual("vm", 48).ok());
  const absl::Time inflated = absl::Now();
  // Scraped every second: the new size shows within a few scrapes.
  auto after = QueryUntil(server, query, 48.0 * kMiB, absl::Seconds(10));
  ASSERT_TRUE(after.ok()) << after.status() << "\n" << server.Log();
  EXPECT_EQ(*after, std::vector<double>{48.0 * kMiB}) << "Prometheus does not see the inflate";
  std::printf("Prometheus had the inflate %s after the guest reported it\n",
              absl::FormatDuration(absl::Now() - inflated).c_str());
  // The target too; the idle VM has no balloon; every scrape succeeded.
  auto target = server.Query(R"(blimp_balloon_target_bytes{vm="vm"})");
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(*target, std::vector<double>{48.0 * kMiB});
  auto idle = server.Query(R"(blimp_balloon_actual_bytes{vm="idle"})");
  ASSERT_TRUE(idle.ok()) << idle.status();
  EXPECT_TRUE(idle->empty());
  auto down = server.Query(
      R"(count_over_time(up{job="blimpd"}[1m]) - sum_over_time(up{job="blimpd"}[1m]))");
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ(*down, std::vector<double>{0}) << "failed scrapes";
}

}  // namespace
}  // namespace blimp::tests

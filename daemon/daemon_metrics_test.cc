#include "daemon/daemon_metrics.h"

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/check_names.h"

namespace blimp::daemon {
namespace {

using ::testing::HasSubstr;

TEST(DaemonMetricsTest, FamiliesFollowPrometheusConventions) {
  gateway::HttpServer::Counters http;
  http.requests = 7;
  http.output_bytes_buffered = 4096;
  ConsoleTotals consoles;
  consoles.bytes_logged = 100;
  std::set<std::string> names;
  for (const prometheus::MetricFamily& family :
       DaemonMetricFamilies(http, consoles, WatchCounters{2, 1, 5})) {
    EXPECT_TRUE(names.insert(family.name).second) << "twice: " << family.name;
    EXPECT_TRUE(prometheus::CheckMetricName(family.name)) << family.name;
    EXPECT_TRUE(absl::StartsWith(family.name, "blimp_daemon_")) << family.name;
    EXPECT_EQ(family.type == prometheus::MetricType::Counter,
              absl::EndsWith(family.name, "_total"))
        << family.name << ": counters, and only they, end in _total";
    ASSERT_EQ(family.metric.size(), 1u) << family.name;
    EXPECT_TRUE(family.metric[0].label.empty()) << family.name;
  }
  EXPECT_EQ(names.size(), 19u);
  const std::string text = RenderMetrics({}, http, consoles, WatchCounters{2, 1, 5});
  EXPECT_THAT(text, HasSubstr("\nblimp_daemon_http_requests_total 7\n"));
  EXPECT_THAT(text, HasSubstr("\nblimp_daemon_http_output_buffered_bytes 4096\n"));
  EXPECT_THAT(text, HasSubstr("\nblimp_daemon_console_log_bytes_total 100\n"));
  EXPECT_THAT(text, HasSubstr("\nblimp_daemon_watch_streams 2\n"));
  EXPECT_THAT(text, HasSubstr("\nblimp_daemon_watch_vmm_connections 1\n"));
  EXPECT_THAT(text, HasSubstr("\nblimp_daemon_watch_updates_coalesced_total 5\n"));
}

TEST(DaemonMetricsTest, VmFamiliesComeFirst) {
  api::VmMetrics vm;
  vm.vm.set_vm_id("a");
  vm.vm.set_state(blimp::v1::VM_STATE_RUNNING);
  vm.vm.set_balloon_actual_mib(3);
  const std::string text = RenderMetrics({vm}, {}, ConsoleTotals(), WatchCounters());
  const size_t vm_state = text.find("blimp_vm_state{vm=\"a\",state=\"running\"} 1\n");
  ASSERT_NE(vm_state, std::string::npos) << text;
  EXPECT_THAT(text, HasSubstr("blimp_balloon_actual_bytes{vm=\"a\"} 3145728\n"));
  EXPECT_LT(vm_state, text.find("# HELP blimp_daemon_"));
}

}  // namespace
}  // namespace blimp::daemon

#include "gateway/metrics.h"

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gateway/prometheus_text.h"
#include "gateway/router.h"
#include "gateway/testing/fake_vms.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "prometheus/check_names.h"

namespace blimp::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kMiB = 1 << 20;

// Three VMs: a (running, balloon 16 MiB, 4 MiB inflated, counters set), b
// (running, no balloon), c (balloon, never started).
class VmMetricsTest : public ::testing::Test {
 protected:
  VmMetricsTest() : router_(Router::ForDaemon(daemon_)) {
    Create("a", true);
    Create("b", false);
    Create("c", true);
    Start("a");
    Start("b");
    daemon_.Find("a")->fake->EditBalloon([](vmm::BalloonSnapshot& s) {
      s.metrics.inflate_count = 7;
      s.metrics.discarded_bytes = 4096;
      s.metrics.invalid_pfns = 2;
      s.actual_pages = 1024;
    });
  }
  void Create(const std::string& id, bool balloon) {
    std::string config =
        "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
        "\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 256}";
    if (balloon) {
      config += ", \"balloon\": {\"amount_mib\": 16, \"deflate_on_oom\": false, "
                "\"stats_polling_interval_s\": 1}";
    }
    ASSERT_EQ(router_.Handle({"PUT", "/vms/" + id, config + "}"}).status, 204);
  }
  void Start(const std::string& id) {
    ASSERT_EQ(router_.Handle({"PUT", "/vms/" + id + "/actions",
                              "{\"action_type\": \"InstanceStart\"}"})
                  .status,
              204);
  }
  std::vector<prometheus::MetricFamily> Families() {
    return VmMetricFamilies(daemon_.CollectMetrics());
  }

  testing::FakeDaemonApi daemon_;
  Router router_;
};

TEST_F(VmMetricsTest, TextHasEveryVmsSeriesInBytesAndTotals) {
  const std::string text = SerializePrometheus(Families());
  EXPECT_THAT(text, HasSubstr("# TYPE blimp_vm_state gauge\n"));
  EXPECT_THAT(text, HasSubstr("blimp_vm_state{vm=\"a\",state=\"running\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("blimp_vm_state{vm=\"a\",state=\"stopped\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("blimp_vm_state{vm=\"c\",state=\"not_started\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("blimp_vm_state{vm=\"a\",state=\"paused\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE blimp_vmm_rss_bytes gauge\n"));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("blimp_balloon_target_bytes{vm=\"a\"} ", 16 * kMiB,
                                           "\n")));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("blimp_balloon_actual_bytes{vm=\"a\"} ", 4 * kMiB,
                                           "\n")));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("blimp_balloon_target_bytes{vm=\"c\"} ", 16 * kMiB,
                                           "\n")));
  EXPECT_THAT(text, HasSubstr("# HELP blimp_balloon_inflate_buffers_total "));
  EXPECT_THAT(text, HasSubstr("# TYPE blimp_balloon_inflate_buffers_total counter\n"));
  EXPECT_THAT(text, HasSubstr("blimp_balloon_inflate_buffers_total{vm=\"a\"} 7\n"));
  EXPECT_THAT(text, HasSubstr("blimp_balloon_discarded_bytes_total{vm=\"a\"} 4096\n"));
  EXPECT_THAT(text, HasSubstr("blimp_balloon_invalid_pfns_total{vm=\"a\"} 2\n"));
  for (const BalloonCounter& counter : BalloonCounters()) {
    if (counter.field == "inflate_count" || counter.field == "discarded_bytes" ||
        counter.field == "invalid_pfns") {
      continue;
    }
    EXPECT_THAT(text, HasSubstr(absl::StrCat(counter.name, "{vm=\"a\"} 0\n")));
  }
  // Only running VMs with a balloon have balloon counters; only VMs with a
  // balloon have its sizes.
  EXPECT_THAT(text, Not(HasSubstr("blimp_balloon_inflate_buffers_total{vm=\"b\"}")));
  EXPECT_THAT(text, Not(HasSubstr("blimp_balloon_inflate_buffers_total{vm=\"c\"}")));
  EXPECT_THAT(text, Not(HasSubstr("blimp_balloon_target_bytes{vm=\"b\"}")));
  EXPECT_THAT(text, Not(HasSubstr("_mib")));

  // Every line is a comment or a sample; each family is introduced once,
  // before its samples; every sample is labelled with its VM.
  std::set<std::string> typed;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, "# HELP ") || absl::ConsumePrefix(&line, "# TYPE ")) {
      const std::string name(line.substr(0, line.find(' ')));
      EXPECT_TRUE(absl::StartsWith(name, "blimp_")) << line;
      typed.insert(name);
      continue;
    }
    const size_t brace = line.find('{');
    const size_t close = line.find("} ");
    ASSERT_NE(brace, absl::string_view::npos) << line;
    ASSERT_NE(close, absl::string_view::npos) << line;
    const std::string name(line.substr(0, brace));
    EXPECT_TRUE(typed.count(name)) << "sample before its # TYPE: " << line;
    EXPECT_TRUE(absl::StartsWith(line.substr(brace + 1), "vm=\"")) << line;
    uint64_t value;
    EXPECT_TRUE(absl::SimpleAtoi(line.substr(close + 2), &value)) << line;
  }
  EXPECT_EQ(text.back(), '\n');
}

TEST_F(VmMetricsTest, NamesFollowPrometheusConventions) {
  std::set<std::string> names;
  for (const prometheus::MetricFamily& family : Families()) {
    EXPECT_TRUE(names.insert(family.name).second) << "twice: " << family.name;
    EXPECT_TRUE(prometheus::CheckMetricName(family.name)) << family.name;
    EXPECT_TRUE(absl::StartsWith(family.name, "blimp_")) << family.name;
    EXPECT_EQ(family.type == prometheus::MetricType::Counter,
              absl::EndsWith(family.name, "_total"))
        << family.name << ": counters, and only they, end in _total";
    EXPECT_FALSE(absl::StrContains(family.name, "mib") || absl::StrContains(family.name, "pages"))
        << family.name << ": sizes are bytes";
    EXPECT_FALSE(family.help.empty()) << family.name;
    for (const prometheus::ClientMetric& sample : family.metric) {
      ASSERT_FALSE(sample.label.empty()) << family.name;
      EXPECT_EQ(sample.label[0].name, "vm") << family.name;
    }
  }
}

TEST(BalloonCountersTest, EveryBalloonMetricsFieldHasOneCounter) {
  const google::protobuf::Descriptor* descriptor = blimp::v1::BalloonMetrics::descriptor();
  std::set<std::string> fields;
  for (const BalloonCounter& counter : BalloonCounters()) {
    EXPECT_TRUE(fields.insert(std::string(counter.field)).second) << counter.field;
    EXPECT_NE(descriptor->FindFieldByName(std::string(counter.field)), nullptr) << counter.field;
    EXPECT_TRUE(absl::StartsWith(counter.name, "blimp_balloon_")) << counter.name;
  }
  for (int i = 0; i < descriptor->field_count(); ++i) {
    EXPECT_TRUE(fields.count(descriptor->field(i)->name()))
        << "BalloonMetrics." << descriptor->field(i)->name()
        << " has no counter in gateway/metrics.cc";
  }
}

TEST(PrometheusTextTest, LabelValuesAreEscaped) {
  prometheus::MetricFamily family =
      Family("blimp_test_bytes", prometheus::MetricType::Gauge, "A test.");
  AddSample(family, {{"vm", "a\"b\\c\nd"}}, 4096);
  EXPECT_EQ(SerializePrometheus({family}),
            "# HELP blimp_test_bytes A test.\n# TYPE blimp_test_bytes gauge\n"
            "blimp_test_bytes{vm=\"a\\\"b\\\\c\\nd\"} 4096\n");
}

TEST(PrometheusTextDeathTest, OurOwnBadNamesAndHelpAreCaught) {
  EXPECT_DEATH(Family("blimp-bad", prometheus::MetricType::Gauge, "x"), "bad metric name");
  EXPECT_DEATH(Family("blimp_ok", prometheus::MetricType::Gauge, "two\nlines"), "HELP");
  EXPECT_DEATH(Family("blimp_ok", prometheus::MetricType::Untyped, "x"), "blimp_ok");
}

}  // namespace
}  // namespace blimp::gateway

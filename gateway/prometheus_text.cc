#include "gateway/prometheus_text.h"

#include <sstream>
#include <utility>

#include "glog/logging.h"
#include "prometheus/check_names.h"
#include "prometheus/text_serializer.h"

namespace blimp::gateway {

prometheus::MetricFamily Family(std::string name, prometheus::MetricType type, std::string help) {
  CHECK(prometheus::CheckMetricName(name)) << "bad metric name " << name;
  CHECK(type == prometheus::MetricType::Counter || type == prometheus::MetricType::Gauge) << name;
  CHECK(!help.empty() && help.find_first_of("\\\n") == std::string::npos)
      << name << ": HELP must be one line without backslashes";
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.type = type;
  family.help = std::move(help);
  return family;
}

void AddSample(prometheus::MetricFamily& family, Labels labels, double value) {
  prometheus::ClientMetric sample;
  sample.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) {
    sample.counter.value = value;
  } else {
    sample.gauge.value = value;
  }
  family.metric.push_back(std::move(sample));
}

std::string SerializePrometheus(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace blimp::gateway

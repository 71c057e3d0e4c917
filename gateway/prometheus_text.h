// The Prometheus text exposition (format 0.0.4) through prometheus-cpp's
// core: blimpd's values are read at scrape time (the collector pattern), so
// each scrape builds its metric families from them and prometheus-cpp's
// TextSerializer writes them (escaping label values, formatting numbers).
// Nothing here keeps state. Only blimpd links this: blimp-vmm serves no
// /metrics and stays without prometheus-cpp.
#ifndef BLIMP_GATEWAY_PROMETHEUS_TEXT_H_
#define BLIMP_GATEWAY_PROMETHEUS_TEXT_H_

#include <string>
#include <vector>

#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"

namespace blimp::gateway {

using Labels = std::vector<prometheus::ClientMetric::Label>;

// A counter or gauge family without samples. `name` must be a valid metric
// name and `help` one line without backslashes (prometheus-cpp 1.0 writes HELP
// unescaped); both are our own constants, so a bad one is a CHECK failure.
prometheus::MetricFamily Family(std::string name, prometheus::MetricType type, std::string help);

// One sample of `family` (its counter or gauge value).
void AddSample(prometheus::MetricFamily& family, Labels labels, double value);

// The families in order, each with its # HELP and # TYPE lines.
std::string SerializePrometheus(const std::vector<prometheus::MetricFamily>& families);

}  // namespace blimp::gateway

#endif  // BLIMP_GATEWAY_PROMETHEUS_TEXT_H_

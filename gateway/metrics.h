// GET /metrics: per-VM state, memory and balloon counters in the Prometheus
// text exposition format (version 0.0.4). Metric names start with `blimp_`;
// every sample carries the label vm="<id>".
#ifndef BLIMP_GATEWAY_METRICS_H_
#define BLIMP_GATEWAY_METRICS_H_

#include <optional>
#include <string>
#include <vector>

#include "api/vm_api.h"

namespace blimp::gateway {

inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

using VmSample = api::VmMetrics;

// One `# HELP`/`# TYPE` block per metric, then a sample per VM that has it.
std::string RenderPrometheus(const std::vector<VmSample>& samples);

}  // namespace blimp::gateway

#endif  // BLIMP_GATEWAY_METRICS_H_
